"""How a command route runs: who may send it (checked before anything is read), the airing it acts
on, once per Idempotency-Key, decided on the resource's schedule by a handler of app/handlers.py,
answered with the airing as decided (answers.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from contracts.events.schedule import AiringKind
from services.common.auth import Principal
from services.common.query import instant
from services.common.web import json, request_metadata, require
from services.scheduler.app import handlers
from services.scheduler.domain.commands import Command
from services.scheduler.entrypoints.http.answers import decided, located, refusals, wrote
from services.scheduler.keys import IDEMPOTENCY, SCHEDULES, STORE


async def planner_command(
    request: web.Request, what: str, command_of: Callable[[Any, Principal], Awaitable[Command]]
) -> web.Response:
    """A planner's command on the airing in the path, once per Idempotency-Key: ``command_of(row,
    who)`` reads the body into the command; the answer is the airing as decided."""
    who = require(request, lambda p: p.may_plan, what)

    async def handle() -> web.Response:
        row = await located(request)
        return await answered(request, handlers.plan_on, who, row, await command_of(row, who))

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


async def operator_command(
    request: web.Request, what: str, command_of: Callable[[Any, Principal], Awaitable[Command]]
) -> web.Response:
    """An operator's command on the airing in the path (see :func:`operated`), once per
    Idempotency-Key: ``command_of(row, who)`` reads the body into the command; the answer is the
    airing as decided."""
    row, who = await operated(request, what)

    async def handle() -> web.Response:
        return await answered(request, handlers.operate_on, who, row, await command_of(row, who))

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


def as_run_times(body: Any) -> dict[str, datetime | None]:
    """The actual start and end an as-run record gives (local times, or none), as instants."""
    return {
        name: instant(getattr(body, name), name) if getattr(body, name) else None
        for name in ("actual_start", "actual_end")
    }


def happened_at(at: str | None) -> tuple[datetime, datetime]:
    """When a livestream went live or ended as the operator says (now when not said), and now."""
    now = datetime.now(UTC)
    return (instant(at, "at") if at else now), now


async def answered(request: web.Request, handler, who: Principal, row: Any, command) -> web.Response:
    """A command on the airing in the path (``row``: its id and resource), decided on the resource's
    schedule by ``handler`` (``handlers.plan_on`` for planners, ``handlers.operate_on`` for operators);
    the answer is the airing as that schedule holds it."""
    with refusals():
        recorded = await handler(
            request.app[SCHEDULES], who, row["resource_id"], command, request_metadata(request, who.sub)
        )
    return json(await decided(request, wrote(request, recorded), row["airing_id"]))


async def plannable(request: web.Request, who: Principal, resource_id: str, kind: AiringKind | None):
    """The resource a planner plans on, as its stream describes it: registered (422), in the planner's
    province (403), carrying ``kind`` (422)."""
    with refusals():
        description = await handlers.plannable(request.app[STORE], who, resource_id, kind)
    return description.model_dump(mode="json") | {"resource_id": resource_id}


def in_province(who: Principal, province: str) -> None:
    """A planner scoped to a province plans only there (403 otherwise)."""
    with refusals():
        handlers.check_plans_in(who, province)


def may_operate_somewhere(p: Principal) -> bool:
    return p.role in ("operator", "planner") and p.feed is None


async def operated(request: web.Request, what: str) -> tuple[Any, Principal]:
    """The airing an operator acts on, and who: authenticated before the airing is looked up
    (no 404 tells a stranger which ids exist); the scope is checked on the resource's stream."""
    who = require(request, may_operate_somewhere, what)
    row = await located(request)
    with refusals():
        await handlers.operable(request.app[SCHEDULES], who, row["resource_id"])
    return row, who
