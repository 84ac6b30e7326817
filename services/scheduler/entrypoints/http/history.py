"""History from the event store: every event of an airing, a series or a campaign, with who, when,
under which request (correlation id) and what changed."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from aiohttp import web

from contracts.http.confirmations import History, HistoryEntry
from contracts.http.scheduler import HistoryQuery
from contracts.localtime import to_local
from services.common import pages
from services.common.query import invalid, query_as
from services.common.web import Problem, principal
from services.scheduler.adapters import catalogue
from services.scheduler.app.streams import campaign_stream, schedule_stream
from services.scheduler.entrypoints.http.answers import existing, fresh
from services.scheduler.keys import POOL, SCHEMA, STORE

routes = web.RouteTableDef()
IDS = ("airing_id", "resource_id", "series_id", "campaign_id")


BATCH = 1000


def entries(events, about: Callable[[dict], dict | None]) -> list[tuple[int, HistoryEntry]]:
    """The events ``about`` keeps, oldest first, each with its stream version; ``about`` answers
    extra fields to show (or None to leave the event out)."""
    out = []
    for e in events:
        extra = about(e.data)
        if extra is None:
            continue
        meta = e.metadata or {}
        changes = {k: v for k, v in e.data.items() if k not in IDS and v is not None} | extra
        entry = HistoryEntry(
            position=e.global_position,
            type=e.type,
            recorded_at=to_local(e.recorded_at),
            actor=meta.get("actor"),
            correlation_id=meta.get("correlation_id"),
            changes=changes,
        )
        out.append((e.stream_version, entry))
    return out


async def history(
    request: web.Request, stream_id: str, about: Callable[[dict], dict | None], **subject
) -> web.Response:
    """One page of a stream's history: read in batches from the cursor's stream version until the
    page is full, so a long stream (a commune's whole schedule) is never read whole for one page."""
    q = query_as(request, HistoryQuery)
    after = pages.decode(q.cursor, 1)
    if after is not None and not isinstance(after[0], int):
        raise invalid("cursor", "not a cursor of this list")
    version = after[0] + 1 if after else 1
    found: list[tuple[int, HistoryEntry]] = []
    while len(found) <= q.limit:
        events = await request.app[STORE].read_stream(stream_id, from_version=version, limit=BATCH)
        found += entries(events, about)
        if len(events) < BATCH:
            break
        version = events[-1].stream_version + 1
    found, more = pages.split(found, q.limit)
    cursor = pages.encode([found[-1][0]]) if more else None
    body = History(**subject, items=[entry for _, entry in found], next_cursor=cursor)
    return pages.page(request, body, cursor)


def _id(request: web.Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise Problem(404, "Not found", f"{name.replace('_id', '')} ids are UUIDs") from None


@routes.get("/v1/airings/{airing_id}/history")
async def airing_history(request: web.Request) -> web.Response:
    """Who changed the airing, when, under which request, and what changed; the scheduling of an
    airing that makes it up is shown as ``made_up_by``."""
    principal(request)
    row = await existing(request)
    wanted = str(row["airing_id"])

    def about(data: dict) -> dict | None:
        if data.get("airing_id") == wanted:
            return {}
        return {"made_up_by": data["airing_id"]} if data.get("makeup_of") == wanted else None

    return await history(
        request, schedule_stream(row["resource_id"]), about, subject="airing", id=row["airing_id"],
        resource_id=row["resource_id"],
    )  # fmt: skip


@routes.get("/v1/series/{series_id}/history")
async def series_history(request: web.Request) -> web.Response:
    """The series' own events (planned, revised, ended, extended) and the scheduling of its airings."""
    principal(request)
    series_id = _id(request, "series_id")
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        row = await catalogue.series_row(conn, request.app[SCHEMA], series_id)
    if row is None:
        raise Problem(404, "Not found", f"no series {series_id}")
    wanted = str(series_id)

    def about(data: dict) -> dict | None:
        if data.get("series_id") != wanted:
            return None
        return {"airing": data["airing_id"]} if "airing_id" in data else {}

    return await history(
        request, schedule_stream(row["resource_id"]), about, subject="series", id=series_id,
        resource_id=row["resource_id"],
    )  # fmt: skip


@routes.get("/v1/campaigns/{campaign_id}/history")
async def campaign_history(request: web.Request) -> web.Response:
    """Every change of the campaign's definition (name, period, communes, targets)."""
    principal(request)
    campaign_id = _id(request, "campaign_id")
    if not await request.app[STORE].read_stream(campaign_stream(campaign_id), limit=1):
        raise Problem(404, "Not found", f"no campaign {campaign_id}")
    return await history(
        request, campaign_stream(campaign_id), lambda data: {}, subject="campaign", id=campaign_id
    )
