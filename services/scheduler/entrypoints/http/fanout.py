"""HTTP API for bulk fan-out: one bulletin to many communes in one request, all or nothing by default."""

from __future__ import annotations

import uuid
from time import perf_counter

import structlog
from aiohttp import web

from contracts.events.reference import ResourceDescription, ResourceType
from contracts.http.scheduler import FanOutRequest, FanOutResult, SkippedAiring, Unplaced
from contracts.localtime import to_local
from services.common.web import Problem, body_as, json, new_id, request_metadata, require
from services.scheduler.adapters import catalogue
from services.scheduler.domain.fanout import CommuneSystem, FanOut, fan_out
from services.scheduler.domain.fanout_days import days_of
from services.scheduler.domain.reference import commune_errors
from services.scheduler.entrypoints.http.answers import caught_up, conflicting, fresh, refusals
from services.scheduler.entrypoints.http.commands import in_province
from services.scheduler.keys import IDEMPOTENCY, POOL, SCHEDULES, SCHEMA, SUBSCRIPTION

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
PLAN_IDS = uuid.UUID("9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a")


async def communes_of(request: web.Request, body: FanOutRequest, who) -> list[CommuneSystem]:
    schema = request.app[SCHEMA]
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        if body.communes is not None:
            ids = list(dict.fromkeys(body.communes))
            rows = await catalogue.resources(conn, schema, province=None, type=None, ids=ids)
        elif body.province is not None:
            ids = None
            rows = await catalogue.resources(conn, schema, province=body.province, type=ResourceType.commune)
        elif body.campaign_id is not None:
            campaign = await catalogue.campaign(conn, schema, body.campaign_id)
            if campaign is None:
                raise Problem(
                    422, "Invalid fan-out", errors=[{"field": "campaign_id", "reason": "no such campaign"}]
                )
            ids = campaign["definition"]["communes"]
            rows = await catalogue.resources(conn, schema, province=None, type=None, ids=ids)
        else:
            raise Problem(
                422,
                "Invalid fan-out",
                errors=[
                    {"field": "communes", "reason": "give communes, a province or a campaign with communes"}
                ],
            )
    found = {r["resource_id"]: r for r in rows}
    described = {r: ResourceDescription(**row["description"]) for r, row in found.items()}
    errors = commune_errors(ids or [], described)
    if errors:
        raise Problem(422, "Invalid fan-out", errors=errors)
    if not rows:
        raise Problem(
            422, "Invalid fan-out", errors=[{"field": "communes", "reason": "no commune to air in"}]
        )
    systems = []
    for row in (found[r] for r in ids) if ids else rows:
        in_province(who, row["province"])
        d = ResourceDescription(**row["description"])
        systems.append(
            CommuneSystem(row["resource_id"], tuple(d.languages), tuple((w.start, w.end) for w in d.windows))
        )
    return systems


def skipped_airings(skipped) -> list[SkippedAiring]:
    """The airings a plan left out, each with the airings in its way."""
    return [
        SkippedAiring(
            resource_id=s.airing.resource_id,
            starts_at=to_local(s.airing.starts_at),
            language=s.airing.language,
            conflicts=[conflicting(a) for a in s.conflict.in_the_way],
        )
        for s in skipped
    ]


async def preview(request: web.Request, who, airings, unplaceable, plan_id) -> web.Response:
    """A dry run: what the fan-out would plan, per commune and language, and every conflict in its way."""
    with refusals():
        outcome = await request.app[SCHEDULES].plan_many(
            airings, request_metadata(request, who.sub), skip_conflicts=True, dry_run=True
        )
    skipped = {s.airing.airing_id for s in outcome.skipped}
    by_commune: dict[str, dict[str, int]] = {}
    for resource_id, planned in airings.items():
        counts = by_commune.setdefault(resource_id, {})
        for a in planned:
            if a.airing_id not in skipped:
                counts[a.language or ""] = counts.get(a.language or "", 0) + 1
    result = FanOutResult(
        plan_id=plan_id,
        planned=sum(sum(c.values()) for c in by_commune.values()),
        communes=len(airings),
        skipped=skipped_airings(outcome.skipped),
        unplaceable=[Unplaced(resource_id=u.resource_id, reason=u.reason) for u in unplaceable],
        by_commune=by_commune,
    )
    return json(result, 200)


@routes.post("/v1/fan-outs")
async def create_fan_out(request: web.Request) -> web.Response:
    """Fan a bulletin out to communes: each in its languages, one after another in its window."""
    who = require(request, lambda p: p.may_plan, "fan out bulletins")

    async def handle() -> web.Response:
        started = perf_counter()
        body = await body_as(request, FanOutRequest)
        plan_id = new_id(request, PLAN_IDS, who.sub, body.plan_id)
        communes = await communes_of(request, body, who)
        with refusals():
            plan = FanOut(
                plan_id=plan_id,
                title=body.title,
                days=days_of(body.dates, body.rule, body.from_date, body.to_date),
                duration_minutes=body.duration_minutes,
                topic=body.topic,
                script=body.script,
                audio_ref=body.audio_ref,
                campaign_id=body.campaign_id,
                priority=body.priority,
                window=body.window - 1,
                start=body.start,
                languages=tuple(body.languages) if body.languages is not None else None,
                gap_minutes=body.gap_minutes,
                stagger_minutes=body.stagger_minutes,
                scripts=body.scripts,
            )
            airings, unplaceable = fan_out(communes, plan)
        if body.dry_run:
            return await preview(request, who, airings, unplaceable, plan_id)
        if unplaceable and not body.skip_conflicts:
            raise Problem(
                422,
                "Communes that cannot take the bulletin",
                errors=[{"field": f"communes:{u.resource_id}", "reason": u.reason} for u in unplaceable],
            )
        placed = perf_counter()
        with refusals():
            outcome = await request.app[SCHEDULES].plan_many(
                airings, request_metadata(request, who.sub), skip_conflicts=body.skip_conflicts
            )
        committed = perf_counter()
        wanted = sum(len(a) for a in airings.values())
        # The plan is committed: a national one answers without waiting for the read model to
        # list all of it (it catches up within seconds; the response says so).
        await caught_up(request, outcome.position, timeout=5 if outcome.planned <= 20_000 else 0.2)
        behind = request.app[SUBSCRIPTION].position < outcome.position
        log.info(
            "fan-out planned",
            plan_id=str(plan_id),
            airings=outcome.planned,
            communes=len(airings),
            place_s=round(placed - started, 3),
            decide_and_append_s=round(committed - placed, 3),
            read_model_s=round(perf_counter() - committed, 3),
        )
        result = FanOutResult(
            plan_id=plan_id,
            planned=wanted - len(outcome.skipped),
            communes=len(airings),
            skipped=skipped_airings(outcome.skipped),
            unplaceable=[Unplaced(resource_id=u.resource_id, reason=u.reason) for u in unplaceable],
            read_model_caught_up=not behind,
        )
        return json(result, 201)

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)
