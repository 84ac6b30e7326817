"""The scheduler's HTTP API (/v1): thin handlers around the domain and the read model."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import orjson
import structlog
from aiohttp import web

from contracts.events.reference import ResourceType
from contracts.events.schedule import AiringKind, Outcome
from contracts.http.bumped import RestoreBumpedResult, RestoredAiring
from contracts.http.scheduler import (
    AiringPage,
    AiringRequest,
    AiringsQuery,
    AiringView,
    CampaignCalendarQuery,
    CancelRequest,
    ConfirmationRequest,
    LivestreamEndRequest,
    LivestreamLiveRequest,
    RescheduleRequest,
    ResourceCalendarQuery,
    RunSheet,
    RunSheetQuery,
)
from services.common import pages
from services.common.auth import Principal
from services.common.localtime import VIETNAM, to_local, to_utc
from services.common.query import instant, invalid, query_as
from services.common.web import Problem, body_as, json, new_id, principal, reader, request_metadata, require
from services.scheduler.adapters import catalogue
from services.scheduler.adapters.projection import (
    AiringQuery,
    FeedQuery,
    airing_by_id,
    feed_airings,
    feed_version,
    find_airings,
    recorded_at,
)
from services.scheduler.app.recorder import TooBusy
from services.scheduler.calendar import LONGEST, SeriesPlan, Window, feed
from services.scheduler.domain import bumped
from services.scheduler.domain.commands import (
    CancelAiring,
    ConfirmAiring,
    EndLivestream,
    GoLive,
    RescheduleAiring,
    RestoreBumped,
    ScheduleAiring,
    check_actual_times,
)
from services.scheduler.domain.errors import Conflict, InvalidCommand, InvalidTransition, NotFound
from services.scheduler.domain.reference import check_kind
from services.scheduler.keys import IDEMPOTENCY, POOL, SCHEDULER, SCHEMA, SUBSCRIPTION

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
AIRING_IDS = uuid.UUID("0d3c6a52-7a0e-4a55-a1f3-2f8f8e6b9c11")


# -- helpers ------------------------------------------------------------------------


def view(row) -> AiringView:
    data = dict(row)
    for key in ("starts_at", "ends_at", "actual_start", "actual_end"):
        if data[key] is not None:
            data[key] = to_local(data[key])
    return AiringView(**data)


async def run(request: web.Request, resource_id: str, command, actor: str) -> int:
    """Execute a command on a resource's schedule; answer once the read model shows it."""
    with refusals():
        outcome = await request.app[SCHEDULER].execute(resource_id, command, request_metadata(request, actor))
    await caught_up(request, outcome.position)
    return outcome.position


async def caught_up(request: web.Request, position: int, timeout: float = 5) -> None:
    """Read your writes: wait until the read model has applied ``position``."""
    if position:
        try:
            await request.app[SUBSCRIPTION].wait_until(position, timeout=timeout)
        except TimeoutError:
            # The write is committed; the lists will show it shortly.
            log.warning("read model behind", position=position, waited=timeout)


def conflict_problem(exc: Conflict) -> Problem:
    taken = "; ".join(
        f"{a.title!r} {to_local(a.starts_at):%Y-%m-%d %H:%M}–{to_local(a.ends_at):%H:%M} ({a.airing_id})"
        for a in exc.in_the_way
    )
    return Problem(
        409,
        "Conflict",
        f"{exc.resource_id} is taken by {taken}",
        extra={"conflicts": [conflicting(a) for a in exc.in_the_way]},
    )


def conflicting(a) -> dict[str, str]:
    return {
        "airing_id": str(a.airing_id),
        "title": a.title,
        "starts_at": to_local(a.starts_at).isoformat(),
        "ends_at": to_local(a.ends_at).isoformat(),
    }


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Domain refusals as problems: 409 conflict or wrong state, 404, 422 naming the field, 503 busy."""
    try:
        yield
    except Conflict as exc:
        raise conflict_problem(exc) from None
    except NotFound as exc:
        raise Problem(404, "Not found", str(exc)) from None
    except InvalidTransition as exc:
        raise Problem(409, "Not allowed in this state", str(exc)) from None
    except InvalidCommand as exc:
        raise Problem(422, "Invalid request", errors=[{"field": exc.field, "reason": exc.reason}]) from None
    except TooBusy as exc:
        raise Problem(503, "Busy", str(exc), extra={"retry_after": 1}) from None


async def existing(request: web.Request) -> Any:
    try:
        airing_id = uuid.UUID(request.match_info["airing_id"])
    except ValueError:
        raise Problem(404, "Not found", "airing ids are UUIDs") from None
    async with request.app[POOL].acquire() as conn:
        row = await airing_by_id(conn, request.app[SCHEMA], airing_id)
    if row is None:
        raise Problem(404, "Not found", f"no airing {airing_id}")
    return row


async def current(request: web.Request, airing_id: uuid.UUID) -> AiringView:
    async with request.app[POOL].acquire() as conn:
        row = await airing_by_id(conn, request.app[SCHEMA], airing_id)
    if row is None:  # stored, but the read model has not caught up (it is reconnecting): retry shows it
        raise Problem(503, "Read model behind", f"airing {airing_id} is stored; retry to read it")
    return view(row)


async def plannable(request: web.Request, who: Principal, resource_id: str, kind: AiringKind | None):
    """The resource a planner plans on: it must exist, be in the planner's province, carry ``kind``."""
    async with request.app[POOL].acquire() as conn:
        row = await catalogue.resource(conn, request.app[SCHEMA], resource_id)
    if row is None:
        raise Problem(
            422,
            "Unknown resource",
            errors=[{"field": "resource_id", "reason": f"no resource {resource_id!r}; register it first"}],
        )
    in_province(who, row["province"])
    if kind is not None:
        with refusals():
            check_kind(resource_id, ResourceType(row["type"]), kind)
    return row


def in_province(who: Principal, province: str) -> None:
    """A planner scoped to a province plans only there; one without a province plans everywhere."""
    if who.role == "planner" and who.province and who.province != province:
        raise Problem(403, "Forbidden", f"planner {who.sub!r} plans in {who.province}, not in {province}")


# -- health -------------------------------------------------------------------------


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json({"status": "ok"})


# -- airings ------------------------------------------------------------------------


@routes.post("/v1/airings")
async def create_airing(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "plan airings")

    async def handle() -> web.Response:
        body = await body_as(request, AiringRequest)
        await plannable(request, who, body.resource_id, body.kind)
        starts = instant(body.starts_at, "starts_at")
        ends = (
            instant(body.ends_at, "ends_at")
            if body.ends_at
            else starts + timedelta(minutes=body.duration_minutes)
        )
        airing_id = new_id(request, AIRING_IDS, who.sub, body.airing_id)
        command = ScheduleAiring(
            airing_id=airing_id,
            resource_id=body.resource_id,
            kind=body.kind,
            starts_at=starts,
            ends_at=ends,
            title=body.title,
            topic=body.topic,
            language=body.language,
            campaign_id=body.campaign_id,
            priority=body.priority,
            script=body.script,
            audio_ref=body.audio_ref,
            makeup_of=body.makeup_of,
        )
        await run(request, body.resource_id, command, who.sub)
        return json(await current(request, airing_id), 201, {"Location": f"/v1/airings/{airing_id}"})

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.get("/v1/airings")
async def list_airings(request: web.Request) -> web.Response:
    principal(request)
    q = query_as(request, AiringsQuery)
    if q.cursor is not None and q.offset:
        raise invalid("offset", "give cursor or offset, not both")
    after = pages.decode(q.cursor, 2)
    query = AiringQuery(
        resource_id=q.resource_id,
        campaign_id=q.campaign_id,
        province=q.province,
        kind=q.kind.value if q.kind else None,
        language=q.language,
        status=q.status.value if q.status else None,
        starts_from=instant(q.from_, "from") if q.from_ else None,
        starts_before=instant(q.to, "to") if q.to else None,
        limit=q.limit + 1,
        offset=q.offset,
        descending=q.sort == "-starts_at",
        after=_airing_key(after) if after else None,
        count=q.total,
    )
    async with request.app[POOL].acquire() as conn:
        rows, total = await find_airings(conn, request.app[SCHEMA], query)
    rows, more = pages.split(rows, q.limit)
    cursor = pages.encode([rows[-1]["starts_at"].isoformat(), str(rows[-1]["airing_id"])]) if more else None
    body = AiringPage(
        items=[view(r) for r in rows], total=total, limit=q.limit, offset=q.offset, next_cursor=cursor
    )
    return pages.page(request, body, cursor)


def _airing_key(key: list) -> tuple[datetime, uuid.UUID]:
    try:
        return datetime.fromisoformat(key[0]), uuid.UUID(key[1])
    except (TypeError, ValueError):
        raise invalid("cursor", "not a cursor of this list") from None


@routes.get("/v1/airings/{airing_id}")
async def get_airing(request: web.Request) -> web.Response:
    principal(request)
    return json(view(await existing(request)))


@routes.post("/v1/airings/{airing_id}/reschedule")
async def reschedule(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "reschedule airings")

    async def handle() -> web.Response:
        row = await existing(request)
        await plannable(request, who, row["resource_id"], None)
        body = await body_as(request, RescheduleRequest)
        starts = instant(body.starts_at, "starts_at")
        if body.ends_at:
            ends = instant(body.ends_at, "ends_at")
        else:
            length = (
                timedelta(minutes=body.duration_minutes)
                if body.duration_minutes
                else row["ends_at"] - row["starts_at"]
            )
            ends = starts + length
        await run(
            request,
            row["resource_id"],
            RescheduleAiring(row["airing_id"], starts, ends, body.reason),
            who.sub,
        )
        return json(await current(request, row["airing_id"]))

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.post("/v1/airings/{airing_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "cancel airings")

    async def handle() -> web.Response:
        row = await existing(request)
        await plannable(request, who, row["resource_id"], None)
        body = await body_as(request, CancelRequest)
        await run(request, row["resource_id"], CancelAiring(row["airing_id"], body.reason), who.sub)
        return json(await current(request, row["airing_id"]))

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.post("/v1/airings/{airing_id}/restore-bumped")
async def restore_bumped(request: web.Request) -> web.Response:
    """Give the airings an emergency bumped their slots back: one result per airing (restored, or
    refused with the reason and the airings in the way)."""
    who = require(request, lambda p: p.may_plan, "restore bumped airings")

    async def handle() -> web.Response:
        row = await existing(request)
        await plannable(request, who, row["resource_id"], None)
        emergency_id = row["airing_id"]

        def decision(state):
            restoration = bumped.restore_bumped(state, RestoreBumped(emergency_id))
            return restoration.events, restoration.items

        metadata = request_metadata(request, who.sub)
        with refusals():
            outcome, items = await request.app[SCHEDULER].decide_with(row["resource_id"], decision, metadata)
        await caught_up(request, outcome.position)
        results = [
            RestoredAiring(
                airing_id=i.airing.airing_id,
                title=i.airing.title,
                starts_at=to_local(i.airing.starts_at),
                ends_at=to_local(i.airing.ends_at),
                result=i.result,
                status=i.airing.status.value,
                reason=i.reason,
                conflicts=[conflicting(a) for a in i.in_the_way],
            )
            for i in items
        ]
        return json(
            RestoreBumpedResult(
                emergency_id=emergency_id,
                restored=sum(r.result == "restored" for r in results),
                refused=sum(r.result == "refused" for r in results),
                items=results,
            )
        )

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


def _may_operate_somewhere(p: Principal) -> bool:
    return p.role in ("operator", "planner") and p.feed is None


async def _operated(request: web.Request, what: str) -> tuple[Any, str]:
    """The airing an operator acts on, and who: authenticated before the airing is looked up
    (no 404 tells a stranger which ids exist), then its resource must be in the caller's scope."""
    who = require(request, _may_operate_somewhere, what)
    row = await existing(request)
    async with request.app[POOL].acquire() as conn:
        resource = await catalogue.resource(conn, request.app[SCHEMA], row["resource_id"])
    if not who.may_operate(row["resource_id"], resource["province"] if resource else None):
        raise Problem(403, "Forbidden", f"{who.role} {who.sub!r} may not operate {row['resource_id']}")
    return row, who.sub


@routes.post("/v1/airings/{airing_id}/confirmation")
async def confirm(request: web.Request) -> web.Response:
    row, operator = await _operated(request, "confirm airings")

    async def handle() -> web.Response:
        body = await body_as(request, ConfirmationRequest)
        now = datetime.now(UTC)
        actual_start = instant(body.actual_start, "actual_start") if body.actual_start else None
        actual_end = instant(body.actual_end, "actual_end") if body.actual_end else None
        with refusals():
            check_actual_times(row["starts_at"], row["ends_at"], actual_start, actual_end, now)
        command = ConfirmAiring(
            airing_id=row["airing_id"],
            outcome=Outcome(body.outcome),
            operator=operator,
            confirmed_at=now,
            actual_start=actual_start,
            actual_end=actual_end,
            reason=body.reason,
        )
        await run(request, row["resource_id"], command, operator)
        return json(await current(request, row["airing_id"]))

    return await request.app[IDEMPOTENCY].run(request, operator, handle)


@routes.post("/v1/airings/{airing_id}/live")
async def go_live(request: web.Request) -> web.Response:
    row, operator = await _operated(request, "start livestreams")

    async def handle() -> web.Response:
        body = await body_as(request, LivestreamLiveRequest)
        now = datetime.now(UTC)
        at = instant(body.at, "at") if body.at else now
        command = GoLive(row["airing_id"], operator, at, body.url, received_at=now)
        await run(request, row["resource_id"], command, operator)
        return json(await current(request, row["airing_id"]))

    return await request.app[IDEMPOTENCY].run(request, operator, handle)


@routes.post("/v1/airings/{airing_id}/end")
async def end_livestream(request: web.Request) -> web.Response:
    row, operator = await _operated(request, "end livestreams")

    async def handle() -> web.Response:
        given = request.body_exists  # can_read_body turns false once the idempotency store read it
        body = await body_as(request, LivestreamEndRequest) if given else LivestreamEndRequest()
        now = datetime.now(UTC)
        at = instant(body.at, "at") if body.at else now
        command = EndLivestream(row["airing_id"], operator, at, received_at=now)
        await run(request, row["resource_id"], command, operator)
        return json(await current(request, row["airing_id"]))

    return await request.app[IDEMPOTENCY].run(request, operator, handle)


@routes.get("/v1/resources/{resource_id}/run-sheet")
async def run_sheet(request: web.Request) -> web.Response:
    principal(request)
    day = query_as(request, RunSheetQuery).date or datetime.now(VIETNAM).date()
    start = to_utc(datetime.combine(day, datetime.min.time()))
    query = AiringQuery(
        resource_id=request.match_info["resource_id"],
        starts_from=start,
        starts_before=start + timedelta(days=1),
        limit=1000,
    )
    async with request.app[POOL].acquire() as conn:
        rows, _ = await find_airings(conn, request.app[SCHEMA], query)
    return json(RunSheet(resource_id=query.resource_id, date=day, items=[view(r) for r in rows]))


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
        modified = (await recorded_at(conn, schema, {latest})).get(latest, datetime(2000, 1, 1, tzinfo=UTC))
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
        stamps = await recorded_at(conn, schema, _positions(rows, series))
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
    async with request.app[POOL].acquire() as conn:
        row = await catalogue.resource(conn, request.app[SCHEMA], resource_id)
    if row is None:
        raise Problem(404, "Not found", f"no resource {resource_id!r}")
    return await _ics(request, f"Loa — {row['name']}", resource_id.replace(":", "-"), resource_id=resource_id)


@routes.get("/v1/campaigns/{campaign_id}/calendar.ics")
async def campaign_calendar(request: web.Request) -> web.Response:
    reader(request)
    query_as(request, CampaignCalendarQuery)
    try:
        campaign_id = uuid.UUID(request.match_info["campaign_id"])
    except ValueError:
        raise Problem(404, "Not found", "campaign ids are UUIDs") from None
    async with request.app[POOL].acquire() as conn:
        row = await catalogue.campaign(conn, request.app[SCHEMA], campaign_id)
    if row is None:
        raise Problem(404, "Not found", f"no campaign {campaign_id}")
    return await _ics(request, f"Loa — {row['name']}", f"campaign-{campaign_id}", campaign_id=campaign_id)
