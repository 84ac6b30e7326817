"""HTTP API for airings (/v1/airings) and a resource's run-sheet: parse, call a handler, answer."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aiohttp import web

from contracts.events.schedule import Outcome
from contracts.http.bumped import RestoreBumpedResult, RestoredAiring
from contracts.http.scheduler import (
    AiringPage,
    AiringRequest,
    AiringsQuery,
    CancelRequest,
    ConfirmationRequest,
    LivestreamEndRequest,
    LivestreamLiveRequest,
    RescheduleRequest,
    RunSheet,
    RunSheetQuery,
)
from contracts.localtime import VIETNAM, to_local, to_utc
from services.common import pages
from services.common.query import instant, invalid, query_as
from services.common.web import body_as, json, new_id, principal, request_metadata, require
from services.scheduler.adapters.projection import AiringQuery, find_airings
from services.scheduler.app import handlers
from services.scheduler.domain.commands import (
    CancelAiring,
    ConfirmAiring,
    EndLivestream,
    GoLive,
    RescheduleAiring,
    ScheduleAiring,
)
from services.scheduler.entrypoints.http.answers import (
    conflicting,
    decided,
    existing,
    fresh,
    located,
    only_known,
    read_page,
    refusals,
    view,
    wrote,
)
from services.scheduler.entrypoints.http.commands import (
    as_run_times,
    happened_at,
    operator_command,
    planner_command,
)
from services.scheduler.keys import IDEMPOTENCY, POOL, SCHEDULES, SCHEMA

routes = web.RouteTableDef()
AIRING_IDS = uuid.UUID("0d3c6a52-7a0e-4a55-a1f3-2f8f8e6b9c11")


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
        with refusals():
            recorded = await handlers.schedule_airing(
                request.app[SCHEDULES], who, command, request_metadata(request, who.sub)
            )
        answer = await decided(request, wrote(request, recorded), airing_id)
        return json(answer, 201, {"Location": f"/v1/airings/{airing_id}"})

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.get("/v1/airings")
async def list_airings(request: web.Request) -> web.Response:
    principal(request)
    q = query_as(request, only_known(request, AiringsQuery))
    if q.cursor is not None and q.offset:
        raise invalid("offset", "give cursor or offset, not both")
    after = pages.decode(q.cursor, 2)
    query = AiringQuery(
        resource_id=q.resource_id,
        campaign_id=q.campaign_id,
        series_id=q.series_id,
        province=q.province,
        kind=q.kind.value if q.kind else None,
        language=q.language,
        status=q.status.value if q.status else None,
        starts_from=instant(q.from_, "from") if q.from_ else None,
        starts_before=instant(q.to, "to") if q.to else None,
        offset=q.offset,
        descending=q.sort == "-starts_at",
        after=_airing_key(after) if after else None,
        count=q.total,
    )
    rows, total, cursor = await read_page(
        request,
        lambda conn, limit: find_airings(conn, request.app[SCHEMA], replace(query, limit=limit)),
        q.limit,
        lambda last: [last["starts_at"].isoformat(), str(last["airing_id"])],
    )
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
    async def command(row, who) -> RescheduleAiring:
        body = await body_as(request, RescheduleRequest)
        starts = instant(body.starts_at, "starts_at")
        if body.ends_at:
            ends = instant(body.ends_at, "ends_at")
        elif body.duration_minutes:
            ends = starts + timedelta(minutes=body.duration_minutes)
        else:
            ends = None  # the rule keeps the airing's length
        return RescheduleAiring(row["airing_id"], starts, ends, body.reason)

    return await planner_command(request, "reschedule airings", command)


@routes.post("/v1/airings/{airing_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    async def command(row, who) -> CancelAiring:
        return CancelAiring(row["airing_id"], (await body_as(request, CancelRequest)).reason)

    return await planner_command(request, "cancel airings", command)


@routes.post("/v1/airings/{airing_id}/restore-bumped")
async def restore_bumped(request: web.Request) -> web.Response:
    """Give the airings an emergency bumped their slots back: one result per airing (restored, or
    refused with the reason and the airings in the way)."""
    who = require(request, lambda p: p.may_plan, "restore bumped airings")

    async def handle() -> web.Response:
        row = await located(request)
        emergency_id = row["airing_id"]
        with refusals():
            recorded, restoration = await handlers.give_back_bumped(
                request.app[SCHEDULES],
                who,
                row["resource_id"],
                emergency_id,
                request_metadata(request, who.sub),
            )
        wrote(request, recorded)
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
            for i in restoration.items
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


@routes.post("/v1/airings/{airing_id}/confirmation")
async def confirm(request: web.Request) -> web.Response:
    async def command(row, who) -> ConfirmAiring:
        body = await body_as(request, ConfirmationRequest)
        return ConfirmAiring(
            airing_id=row["airing_id"],
            outcome=Outcome(body.outcome),
            operator=who.sub,
            confirmed_at=datetime.now(UTC),
            reason=body.reason,
            **as_run_times(body),
        )

    return await operator_command(request, "confirm airings", command)


@routes.post("/v1/airings/{airing_id}/live")
async def go_live(request: web.Request) -> web.Response:
    async def command(row, who) -> GoLive:
        body = await body_as(request, LivestreamLiveRequest)
        at, now = happened_at(body.at)
        return GoLive(row["airing_id"], who.sub, at, body.url, received_at=now)

    return await operator_command(request, "start livestreams", command)


@routes.post("/v1/airings/{airing_id}/end")
async def end_livestream(request: web.Request) -> web.Response:
    async def command(row, who) -> EndLivestream:
        given = request.body_exists  # can_read_body turns false once the idempotency store read it
        body = await body_as(request, LivestreamEndRequest) if given else LivestreamEndRequest()
        at, now = happened_at(body.at)
        return EndLivestream(row["airing_id"], who.sub, at, received_at=now)

    return await operator_command(request, "end livestreams", command)


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
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        rows, _ = await find_airings(conn, request.app[SCHEMA], query)
    return json(RunSheet(resource_id=query.resource_id, date=day, items=[view(r) for r in rows]))
