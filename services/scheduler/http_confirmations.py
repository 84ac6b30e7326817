"""Corrections of as-run records (``POST /v1/airings/{id}/correction``) and bulk confirmations."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from contracts.events.schedule import Outcome
from contracts.http.confirmations import CorrectionRequest
from services.common.query import instant
from services.common.web import body_as, json
from services.scheduler.domain.commands import CorrectConfirmation
from services.scheduler.http import _operator_of, current, existing, run
from services.scheduler.keys import IDEMPOTENCY

routes = web.RouteTableDef()


@routes.post("/v1/airings/{airing_id}/correction")
async def correct(request: web.Request) -> web.Response:
    """Change a confirmation, saying why: the latest record counts, the history keeps both (an
    operator of the resource or a planner)."""
    row = await existing(request)
    who = _operator_of(request, row)

    async def handle() -> web.Response:
        body = await body_as(request, CorrectionRequest)
        command = CorrectConfirmation(
            airing_id=row["airing_id"],
            outcome=Outcome(body.outcome),
            why=body.why,
            corrected_by=who,
            corrected_at=datetime.now(UTC),
            actual_start=instant(body.actual_start, "actual_start") if body.actual_start else None,
            actual_end=instant(body.actual_end, "actual_end") if body.actual_end else None,
            reason=body.reason,
        )
        await run(request, row["resource_id"], command, who)
        return json(await current(request, row["airing_id"]))

    return await request.app[IDEMPOTENCY].run(request, who, handle)
