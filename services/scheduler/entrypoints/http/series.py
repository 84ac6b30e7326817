"""HTTP API for series: plan, read, revise (this and following / whole series), end.

"This airing" needs no route of its own: an occurrence is an ordinary airing,
moved or cancelled through /v1/airings/{id}, and the horizon never recreates it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiohttp import web
from pydantic import ValidationError

from contracts.events.series import SeriesDefinition
from contracts.http.scheduler import (
    RevisionScope,
    SeriesEndRequest,
    SeriesRequest,
    SeriesRevisionRequest,
    SeriesView,
)
from contracts.localtime import VIETNAM
from services.common.web import (
    Problem,
    body_as,
    field_errors,
    json,
    new_id,
    principal,
    request_metadata,
    require,
)
from services.scheduler.adapters import catalogue
from services.scheduler.app import handlers
from services.scheduler.domain.commands import EndSeries, PlanSeries, ReviseSeries, ReviseWholeSeries
from services.scheduler.domain.horizon import horizon, local_minute, wall_clock
from services.scheduler.domain.overrides import ReviseOccurrence
from services.scheduler.entrypoints.http.answers import caught_up, fresh, refusals
from services.scheduler.keys import HORIZON_DAYS, IDEMPOTENCY, POOL, SCHEDULES, SCHEMA

routes = web.RouteTableDef()
SERIES_IDS = uuid.UUID("5e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a2b")


async def series_view(request: web.Request, series_id: uuid.UUID) -> SeriesView:
    schema = request.app[SCHEMA]
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        row = await catalogue.series_row(conn, schema, series_id)
        if row is None:
            raise Problem(404, "Not found", f"no series {series_id}")
        airings = await catalogue.series_airings(conn, schema, series_id)
    return SeriesView(
        series_id=row["series_id"],
        resource_id=row["resource_id"],
        kind=row["kind"],
        campaign_id=row["campaign_id"],
        definition=row["definition"],
        effective_from=row["effective_from"],
        ended_from=row["ended_from"],
        through=row["through"].astimezone(VIETNAM) if row["through"] else None,
        skipped=row["skipped"],
        airings=airings,
    )


async def _planned(request: web.Request, who, resource_id: str, command, kind=None) -> None:
    """Decide a series command on the resource's stream; the answer (a read-model view) waits for it."""
    with refusals():
        recorded = await handlers.plan_on(
            request.app[SCHEDULES], who, resource_id, command, request_metadata(request, who.sub), kind
        )
    await caught_up(request, recorded.position)


def _series_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["series_id"])
    except ValueError:
        raise Problem(404, "Not found", "series ids are UUIDs") from None


@routes.post("/v1/series")
async def create_series(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "plan series")

    async def handle() -> web.Response:
        body = await body_as(request, SeriesRequest)
        series_id = new_id(request, SERIES_IDS, who.sub, body.series_id)
        definition = SeriesDefinition(**body.model_dump(include=set(SeriesDefinition.model_fields)))
        command = PlanSeries(
            series_id=series_id,
            resource_id=body.resource_id,
            kind=body.kind,
            definition=definition,
            through=horizon(request.app[HORIZON_DAYS], datetime.now(UTC)),
            campaign_id=body.campaign_id,
            skip_conflicts=body.skip_conflicts,
        )
        await _planned(request, who, body.resource_id, command, body.kind)
        return json(await series_view(request, series_id), 201, {"Location": f"/v1/series/{series_id}"})

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.get("/v1/series/{series_id}")
async def get_series(request: web.Request) -> web.Response:
    principal(request)
    return json(await series_view(request, _series_id(request)))


def _merged(definition: SeriesDefinition, changes: dict) -> SeriesDefinition:
    try:
        return SeriesDefinition.model_validate(definition.model_dump(mode="json") | changes)
    except ValidationError as exc:
        raise Problem(422, "Invalid revision", errors=field_errors(exc)) from None


@routes.post("/v1/series/{series_id}/revision")
async def revise_series(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "revise series")

    async def handle() -> web.Response:
        current = await series_view(request, _series_id(request))
        body = await body_as(request, SeriesRevisionRequest)
        changes = body.model_dump(
            mode="json", exclude_unset=True, exclude={"scope", "occurrence", "skip_conflicts"}
        )
        if body.scope is RevisionScope.this:  # an override: its content of its own (domain/overrides.py)
            command = ReviseOccurrence(current.series_id, wall_clock(body.occurrence), changes)
        elif body.scope is RevisionScope.following:
            definition = _merged(current.definition, changes)
            command = ReviseSeries(
                current.series_id, wall_clock(body.occurrence), definition, body.skip_conflicts
            )
        else:
            # The whole series, from now on: what already happened stays as it was.
            now = local_minute(datetime.now(UTC))
            command = ReviseWholeSeries(current.series_id, now, changes, body.skip_conflicts)
        await _planned(request, who, current.resource_id, command)
        return json(await series_view(request, current.series_id))

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.post("/v1/series/{series_id}/end")
async def end_series(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "end series")

    async def handle() -> web.Response:
        current = await series_view(request, _series_id(request))
        body = await body_as(request, SeriesEndRequest)
        effective_from = wall_clock(body.occurrence) if body.occurrence else local_minute(datetime.now(UTC))
        command = EndSeries(current.series_id, effective_from, body.reason)
        await _planned(request, who, current.resource_id, command)
        return json(await series_view(request, current.series_id))

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)
