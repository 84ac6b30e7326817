"""Calendar feeds (iCalendar) of a resource or a campaign: every airing of a window, whole, with
the series as RRULEs; 304 when the client's copy is current."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import orjson
from aiohttp import web

from contracts.http.scheduler import CampaignCalendarQuery, ResourceCalendarQuery
from contracts.localtime import to_local
from services.common.query import instant, invalid, query_as
from services.common.web import Problem, reader
from services.scheduler.adapters import catalogue
from services.scheduler.adapters.ics_feed import LONGEST, SeriesPlan, Window, feed
from services.scheduler.adapters.projection import FeedQuery, feed_airings, feed_version
from services.scheduler.app.queries import recorded_at
from services.scheduler.entrypoints.http.answers import campaign_row, fresh
from services.scheduler.keys import POOL, SCHEMA, STORE

routes = web.RouteTableDef()


async def _ics(
    request: web.Request, name: str, filename: str, *, resource_id: str | None = None, campaign_id=None
) -> web.Response:
    """A feed of every airing of a resource or a campaign in the requested window, in full; 304 when
    the client's copy (ETag / Last-Modified) is current."""
    q = query_as(request, ResourceCalendarQuery)
    window = Window.around(
        datetime.now(UTC),
        instant(q.from_, "from") if q.from_ else None,
        instant(q.to, "to") if q.to else None,
    )
    if window.end <= window.start:
        raise invalid("to", "must be after from")
    if window.end - window.start > LONGEST:
        field = "to" if q.to else "from"
        raise invalid(field, f"a feed covers at most {LONGEST.days} days; ask for the rest with from/to")
    schema = request.app[SCHEMA]
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        series = [
            SeriesPlan.of(r)
            for r in await catalogue.series_of(conn, schema, resource_id=resource_id, campaign_id=campaign_id)
        ]
        query = FeedQuery(
            resource_id=resource_id,
            campaign_id=campaign_id,
            starts_from=window.start,
            starts_before=window.end,
            series_ids=[p.series_id for p in series],
            # a day's slack: occurrences are local times, possibly of another zone than Vietnam's
            local_from=to_local(window.start).replace(tzinfo=None) - timedelta(days=1),
            local_before=to_local(window.end).replace(tzinfo=None) + timedelta(days=1),
        )
        count, latest, places_at = await feed_version(conn, schema, query)
        latest = max([latest, *(p.position for p in series)])
        version = hashlib.sha256(
            orjson.dumps(
                [name, window.start.isoformat(), window.end.isoformat(), count, latest, places_at,
                 sorted((str(p.series_id), p.position) for p in series)]
            )
        ).hexdigest()[:32]  # fmt: skip
        etag = f'"{version}"'
        stamped = await recorded_at(request.app[STORE], {latest})
        modified = stamped.get(latest, datetime(2000, 1, 1, tzinfo=UTC))
        modified = modified.replace(microsecond=0)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(modified, usegmt=True),
            "X-Loa-Feed-Window": f"{to_local(window.start).isoformat()}/{to_local(window.end).isoformat()}",
            "Cache-Control": "no-cache",
        }
        if _fresh(request, etag) or _unmodified(request, modified):
            return web.Response(status=304, headers=headers)
        rows = await feed_airings(conn, schema, query)
        known = await catalogue.resources(
            conn,
            schema,
            province=None,
            type=None,
            ids=list({r["resource_id"] for r in rows} | {p.resource_id for p in series}),
        )
        stamps = await recorded_at(request.app[STORE], _positions(rows, series))
    places = {r["resource_id"]: r["name"] for r in known}
    body = feed(name, window, rows, series, stamps=stamps, places=places)
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers=headers | {"Content-Disposition": f'inline; filename="{filename}.ics"'},
    )


def _positions(rows, series) -> set[int]:
    return {r["position"] for r in rows} | {p.position for p in series}


def _fresh(request: web.Request, etag: str) -> bool:
    given = request.headers.get("If-None-Match")
    if given is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in given.split(",")}
    return "*" in tags or etag in tags


def _unmodified(request: web.Request, modified: datetime) -> bool:
    # If-None-Match wins when both are given (RFC 9110 13.2.2).
    if "If-None-Match" in request.headers:
        return False
    since = request.if_modified_since
    return since is not None and modified <= since


@routes.get("/v1/resources/{resource_id}/calendar.ics")
async def resource_calendar(request: web.Request) -> web.Response:
    reader(request)
    resource_id = request.match_info["resource_id"]
    query_as(request, ResourceCalendarQuery)
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        row = await catalogue.resource(conn, request.app[SCHEMA], resource_id)
    if row is None:
        raise Problem(404, "Not found", f"no resource {resource_id!r}")
    return await _ics(request, f"Loa — {row['name']}", resource_id.replace(":", "-"), resource_id=resource_id)


@routes.get("/v1/campaigns/{campaign_id}/calendar.ics")
async def campaign_calendar(request: web.Request) -> web.Response:
    reader(request)
    query_as(request, CampaignCalendarQuery)
    row = await campaign_row(request)
    campaign_id = row["campaign_id"]
    return await _ics(request, f"Loa — {row['name']}", f"campaign-{campaign_id}", campaign_id=campaign_id)
