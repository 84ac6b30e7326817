"""Corrections of as-run records (``POST /v1/airings/{id}/correction``) and bulk confirmations."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from contracts.events.schedule import Outcome
from contracts.http.confirmations import (
    BulkConfirmationRequest,
    BulkConfirmationResult,
    CorrectionRequest,
    ItemResult,
)
from contracts.localtime import VIETNAM, to_utc
from services.common.auth import Principal
from services.common.query import invalid
from services.common.web import Problem, body_as, json, principal, request_metadata, require
from services.scheduler.adapters import as_run_log, catalogue
from services.scheduler.adapters.projection import airings_starting_at, airings_with_province
from services.scheduler.domain.as_run import ALREADY, CONFIRMED, REFUSED
from services.scheduler.domain.commands import ConfirmAiring, CorrectConfirmation
from services.scheduler.entrypoints.http.answers import as_run_times, fresh, operator_command, refusals
from services.scheduler.keys import IDEMPOTENCY, POOL, SCHEDULES, SCHEMA

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


@dataclass
class Pending:
    """An item on its way to a result: refused here, or decided on its schedule."""

    result: ItemResult
    resource_id: str | None = None
    command: ConfirmAiring | None = None


async def _record(request: web.Request, who: Principal, pending: list[Pending]) -> BulkConfirmationResult:
    """Decide the items that passed the checks, each on its schedule; answer every item in order."""
    by_resource: dict[str, list[Pending]] = defaultdict(list)
    for p in pending:
        if p.command is not None:
            by_resource[p.resource_id].append(p)
    if by_resource:
        with refusals():
            outcomes, _ = await request.app[SCHEDULES].confirm_many(
                {r: [p.command for p in items] for r, items in by_resource.items()},
                request_metadata(request, who.sub),
            )
        for resource_id, items in by_resource.items():
            for p, outcome in zip(items, outcomes[resource_id], strict=True):
                p.result = p.result.model_copy(
                    update={"status": outcome.status, "field": outcome.field, "reason": outcome.reason}
                )
        # No read-your-writes wait: the answer comes from the decided events, not from the read model,
        # which applies thousands of confirmations a moment later.
    results = [p.result for p in pending]
    count = Counter(r.status for r in results)
    return BulkConfirmationResult(
        confirmed=count[CONFIRMED], already_confirmed=count[ALREADY], refused=count[REFUSED], items=results
    )


def _check(who: Principal, found, result: ItemResult) -> Pending | None:
    """A refusal when the airing is unknown or outside the operator's scope."""
    if found is None:
        return Pending(
            result.model_copy(update={"status": REFUSED, "field": "airing_id", "reason": "no such airing"})
        )
    if not who.may_operate(found["resource_id"], found["province"]):
        reason = f"{who.role} {who.sub!r} may not operate {found['resource_id']}"
        return Pending(result.model_copy(update={"status": REFUSED, "field": "airing_id", "reason": reason}))
    return None


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
            refused = _check(who, found, result)
            if refused is not None:
                pending.append(refused)
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
                update = {
                    "status": REFUSED,
                    "field": error.get("field"),
                    "reason": error.get("reason", str(problem)),
                }
                pending.append(Pending(result.model_copy(update=update)))
                continue
            pending.append(Pending(result, found["resource_id"], command))
        return json(await _record(request, who, pending))

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
        return json(await _record(request, who, pending))

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


async def _match(request: web.Request, who: Principal, rows: list[as_run_log.LogRow]) -> list[Pending]:
    """Each row's airing: on the commune named (name, code or id, among those the operator may
    operate first), starting at the row's local date and time, in its language when given."""
    schema, now = request.app[SCHEMA], datetime.now(UTC)
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        communes = await catalogue.resources(conn, schema, province=None, type="commune")
        names: dict[str, list[str]] = defaultdict(list)
        province_of = {c["resource_id"]: c["province"] for c in communes}
        for c in communes:
            for key in {c["resource_id"], c["name"], c["code"]} - {None}:
                names[key.casefold()].append(c["resource_id"])
        wanted = []
        for r in rows:
            candidates = names.get(r.commune.casefold(), [])
            mine = [c for c in candidates if who.may_operate(c, province_of[c])] or candidates
            wanted.append(mine[0] if len(mine) == 1 else None)
        starts = [to_utc(datetime.combine(r.day, r.at), VIETNAM) for r in rows]
        found = await airings_starting_at(conn, schema, [w or "" for w in wanted], starts)
    at: dict[tuple[str, datetime], list] = defaultdict(list)
    for f in found:
        at[(f["resource_id"], f["starts_at"])].append(f)
    out = []
    for r, resource_id, start in zip(rows, wanted, starts, strict=True):
        result = ItemResult(row=r.row, status=CONFIRMED)
        if resource_id is None:
            reason = f"no single commune named {r.commune!r}; use its code or resource id"
            out.append(
                Pending(result.model_copy(update={"status": REFUSED, "field": "commune", "reason": reason}))
            )
            continue
        airings = [a for a in at[(resource_id, start)] if r.language is None or a["language"] == r.language]
        if len(airings) != 1:
            reason = (
                f"no airing on {resource_id} at {r.day:%d/%m/%Y} {r.at:%H:%M}"
                + (f" in {r.language}" if r.language else "")
                if not airings
                else "several airings then: name the language"
            )
            out.append(
                Pending(result.model_copy(update={"status": REFUSED, "field": "time", "reason": reason}))
            )
            continue
        airing = airings[0]
        result = result.model_copy(update={"airing_id": airing["airing_id"]})
        refused = _check(who, airing, result)
        if refused is not None:
            out.append(refused)
            continue
        command = ConfirmAiring(
            airing_id=airing["airing_id"],
            outcome=Outcome(r.outcome),
            operator=who.sub,
            confirmed_at=now,
            reason=r.reason,
        )
        out.append(Pending(result, resource_id, command))
    return out


@routes.get("/v1/confirmations/template.xlsx")
async def log_template(request: web.Request) -> web.Response:
    """A blank as-run log (headings and one example row) to fill in and upload."""
    principal(request)
    return web.Response(
        body=as_run_log.template(),
        content_type=as_run_log.XLSX,
        headers={"Content-Disposition": 'attachment; filename="nhat-ky-phat-thanh.xlsx"'},
    )
