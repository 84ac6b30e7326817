"""Corrections of as-run records (``POST /v1/airings/{id}/correction``) and bulk confirmations."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from contracts.events.schedule import Outcome
from contracts.http.confirmations import (
    BulkConfirmationRequest,
    CorrectionRequest,
    ItemResult,
)
from contracts.localtime import VIETNAM, to_utc
from services.common.auth import Principal
from services.common.query import invalid
from services.common.web import Problem, body_as, json, principal, request_metadata, require
from services.scheduler.adapters import as_run_log, catalogue
from services.scheduler.adapters.projection import airings_starting_at, airings_with_province
from services.scheduler.app import bulk_confirmations as bulk
from services.scheduler.app.bulk_confirmations import Pending
from services.scheduler.domain.as_run import CONFIRMED, REFUSED
from services.scheduler.domain.commands import ConfirmAiring, CorrectConfirmation
from services.scheduler.entrypoints.http.answers import fresh, refusals
from services.scheduler.entrypoints.http.commands import as_run_times, operator_command
from services.scheduler.keys import IDEMPOTENCY, POOL, SCHEDULES, SCHEMA, WRITTEN

routes = web.RouteTableDef()


@routes.post("/v1/airings/{airing_id}/correction")
async def correct(request: web.Request) -> web.Response:
    """Change a confirmation, saying why: the latest record counts, the history keeps both (an
    operator of the resource or a planner)."""

    async def command(row, who) -> CorrectConfirmation:
        body = await body_as(request, CorrectionRequest)
        return CorrectConfirmation(
            airing_id=row["airing_id"],
            outcome=Outcome(body.outcome),
            why=body.why,
            corrected_by=who.sub,
            corrected_at=datetime.now(UTC),
            reason=body.reason,
            **as_run_times(body),
        )

    return await operator_command(request, "correct confirmations", command)


# -- bulk confirmations and as-run logs -------------------------------------------------


async def _record(request: web.Request, who: Principal, pending: list[Pending]) -> web.Response:
    with refusals():
        answer, position = await bulk.record(
            request.app[SCHEDULES], pending, request_metadata(request, who.sub)
        )
    request.app[WRITTEN].saw(position)
    return json(answer)


@routes.post("/v1/confirmations")
async def confirm_many(request: web.Request) -> web.Response:
    """Up to 10,000 as-run records at once, each with its own result; the same record again is
    "already confirmed", never a second write; the operator's scope applies to each."""
    who = require(request, lambda p: p.role in ("operator", "planner"), "confirm airings")

    async def handle() -> web.Response:
        body = await body_as(request, BulkConfirmationRequest)
        now = datetime.now(UTC)
        await fresh(request)
        async with request.app[POOL].acquire() as conn:
            rows = await airings_with_province(
                conn, request.app[SCHEMA], {item.airing_id for item in body.items}
            )
        known = {r["airing_id"]: r for r in rows}
        pending = []
        for index, item in enumerate(body.items):
            result = ItemResult(index=index, airing_id=item.airing_id, status=CONFIRMED)
            found = known.get(item.airing_id)
            refusal = bulk.check(who, found, result)
            if refusal is not None:
                pending.append(refusal)
                continue
            try:
                command = ConfirmAiring(
                    airing_id=item.airing_id,
                    outcome=Outcome(item.outcome),
                    operator=who.sub,
                    confirmed_at=now,
                    reason=item.reason,
                    **as_run_times(item),
                )
            except Problem as problem:  # a local time that does not exist in the zone
                error = problem.errors[0] if problem.errors else {}
                pending.append(bulk.refused(result, error.get("field"), error.get("reason", str(problem))))
                continue
            pending.append(Pending(result, found["resource_id"], command))
        return await _record(request, who, pending)

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.post("/v1/confirmations/as-run-log")
async def upload_log(request: web.Request) -> web.Response:
    """An as-run log as kept on paper (date, time, commune, language, outcome, reason), as XLSX or CSV
    in the body; each row answered with its number."""
    who = require(request, lambda p: p.role in ("operator", "planner"), "confirm airings")

    async def handle() -> web.Response:
        data = await request.read()
        if not data:
            raise invalid("body", "send the log as XLSX or CSV in the request body")
        try:
            rows, bad = as_run_log.read(data, request.content_type)
        except as_run_log.LogError as exc:
            raise invalid("body", str(exc)) from None
        pending = [
            Pending(ItemResult(row=b.row, status=REFUSED, field=b.field, reason=b.reason)) for b in bad
        ]
        pending += await _match(request, who, rows)
        pending.sort(key=lambda p: p.result.row)
        return await _record(request, who, pending)

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


async def _match(request: web.Request, who: Principal, rows: list[as_run_log.LogRow]) -> list[Pending]:
    """Each row's airing (app/bulk_confirmations.py): the communes and the airings starting at the
    rows' local times, from the read model."""
    schema, now = request.app[SCHEMA], datetime.now(UTC)
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        communes = await catalogue.resources(conn, schema, province=None, type="commune")
        chosen = bulk.communes_named(who, [r.commune for r in rows], communes)
        local = [datetime.combine(r.day, r.at) for r in rows]
        entries = [
            bulk.LogEntry(r.row, r.commune, c, to_utc(t, VIETNAM), t, r.language, r.outcome, r.reason)
            for r, c, t in zip(rows, chosen, local, strict=True)
        ]
        found = await airings_starting_at(
            conn, schema, [c or "" for c in chosen], [e.starts_at for e in entries]
        )
    return bulk.match_log(who, entries, found, now)


@routes.get("/v1/confirmations/template.xlsx")
async def log_template(request: web.Request) -> web.Response:
    """A blank as-run log (headings and one example row) to fill in and upload."""
    principal(request)
    return web.Response(
        body=as_run_log.template(),
        content_type=as_run_log.XLSX,
        headers={"Content-Disposition": 'attachment; filename="nhat-ky-phat-thanh.xlsx"'},
    )
