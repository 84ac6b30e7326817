"""What every scheduler route shares: refusals as problems, the airing as an answer, and read
your writes (a read-model answer waits until the model shows what this process wrote)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import structlog
from aiohttp import web

from contracts.events.schedule import AiringKind, AiringScheduled
from contracts.http.scheduler import AiringView
from contracts.localtime import to_local
from services.common.auth import Principal
from services.common.web import Problem, require
from services.scheduler.adapters import catalogue
from services.scheduler.adapters.projection import airing_by_id
from services.scheduler.app import handlers
from services.scheduler.app.streams import Recorded, TooBusy
from services.scheduler.domain.errors import (
    Conflict,
    Forbidden,
    InvalidCommand,
    InvalidTransition,
    NotFound,
    UnknownResource,
)
from services.scheduler.domain.state import ResourceSchedule
from services.scheduler.keys import POOL, SCHEMA, STORE, SUBSCRIPTION, WRITTEN

log = structlog.get_logger(__name__)


def view(row) -> AiringView:
    """An airing as the read model lists it."""
    data = dict(row)
    for key in ("starts_at", "ends_at", "actual_start", "actual_end"):
        if data[key] is not None:
            data[key] = to_local(data[key])
    return AiringView(**data)


def scheduled_view(e: AiringScheduled) -> AiringView:
    """A new airing as the event that scheduled it says: what the read model will list."""
    fields = e.model_dump(exclude={"makeup_of", "starts_at", "ends_at"})
    return AiringView(
        **fields, starts_at=to_local(e.starts_at), ends_at=to_local(e.ends_at), status="scheduled"
    )


def confirmed_view(state: ResourceSchedule | None, airing_id: uuid.UUID) -> AiringView | None:
    """A confirmed airing as the schedule that decided its confirmation holds it: what the read
    model will list once it applies the confirmation (its as-run record replaces the airing's
    actual times, reason and operator). None when the state does not hold a confirmation."""
    airing = state.airings.get(airing_id) if state is not None else None
    if airing is None or airing.confirmation is None:
        return None
    c, series = airing.confirmation, state.series.get(airing.scheduled.series_id)
    moved_to = [k for k, v in series.occurrences.items() if v == airing_id] if series else []
    bumped_by = state.airings.get(airing.bumped_by) if airing.bumped_by else None
    return AiringView(
        **airing.scheduled.model_dump(exclude={"makeup_of", "starts_at", "ends_at", "recurrence_id"}),
        starts_at=to_local(airing.starts_at), ends_at=to_local(airing.ends_at),
        recurrence_id=moved_to[0] if moved_to else airing.scheduled.recurrence_id,
        status=airing.status.value,
        actual_start=to_local(c.actual_start) if c.actual_start else None,
        actual_end=to_local(c.actual_end) if c.actual_end else None,
        reason=c.reason, operator=c.operator,
        bumped_by=airing.bumped_by, bumped_by_title=bumped_by.title if bumped_by else None,
    )  # fmt: skip


def wrote(request: web.Request, recorded: Recorded) -> Recorded:
    """Note what this process wrote: its later read-model answers wait for it."""
    request.app[WRITTEN].saw(recorded.position)
    return recorded


async def caught_up(request: web.Request, position: int, timeout: float = 5) -> None:
    """Read your writes: wait until the read model has applied ``position``."""
    request.app[WRITTEN].saw(position)
    if position:
        try:
            await request.app[SUBSCRIPTION].wait_until(position, timeout=timeout)
        except TimeoutError:
            # The write is committed; the lists will show it shortly.
            log.warning("read model behind", position=position, waited=timeout)


async def fresh(request: web.Request, timeout: float = 5) -> None:
    """Before a read-model answer: wait until the model shows every write this process made."""
    written = request.app[WRITTEN].position
    if written and request.app[SUBSCRIPTION].position < written:
        await caught_up(request, written, timeout)


def conflicting(a) -> dict[str, str]:
    return {
        "airing_id": str(a.airing_id),
        "title": a.title,
        "starts_at": to_local(a.starts_at).isoformat(),
        "ends_at": to_local(a.ends_at).isoformat(),
    }


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


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Domain refusals as problems: 409 conflict or wrong state, 403, 404, 422 naming the field, 503 busy."""
    try:
        yield
    except Conflict as exc:
        raise conflict_problem(exc) from None
    except NotFound as exc:
        raise Problem(404, "Not found", str(exc)) from None
    except Forbidden as exc:
        raise Problem(403, "Forbidden", str(exc)) from None
    except InvalidTransition as exc:
        raise Problem(409, "Not allowed in this state", str(exc)) from None
    except UnknownResource as exc:
        raise Problem(422, "Unknown resource", errors=[{"field": exc.field, "reason": exc.reason}]) from None
    except InvalidCommand as exc:
        raise Problem(422, "Invalid request", errors=[{"field": exc.field, "reason": exc.reason}]) from None
    except TooBusy as exc:
        raise Problem(503, "Busy", str(exc), extra={"retry_after": 1}) from None


def path_airing_id(request: web.Request) -> uuid.UUID:
    """The airing id in the path: 404 when it is no UUID (no airing has such an id)."""
    try:
        return uuid.UUID(request.match_info["airing_id"])
    except ValueError:
        raise Problem(404, "Not found", "airing ids are UUIDs") from None


async def existing(request: web.Request) -> Any:
    """The airing in the path, as the read model holds it (after this process's writes): 404 if none."""
    airing_id = path_airing_id(request)
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        row = await airing_by_id(conn, request.app[SCHEMA], airing_id)
    if row is None:
        if request.app[SUBSCRIPTION].position < request.app[WRITTEN].position:
            # This process wrote what the read model has not shown yet (it is halted or reconnecting).
            raise Problem(503, "Read model behind", f"the read model has not shown airing {airing_id} yet")
        raise Problem(404, "Not found", f"no airing {airing_id}")
    return row


async def located(request: web.Request) -> Any:
    """The airing in the path for a command: only its id and its resource are used, and an airing
    never changes resource, so a row the read model already lists serves without waiting for this
    process's writes (the command is decided on the resource's stream). An id not listed yet waits
    for them, as :func:`existing` does (it may be the airing this process just planned)."""
    airing_id = path_airing_id(request)
    async with request.app[POOL].acquire() as conn:
        row = await airing_by_id(conn, request.app[SCHEMA], airing_id)
    return row if row is not None else await existing(request)


async def current(request: web.Request, airing_id: uuid.UUID) -> AiringView:
    """The airing as the read model shows it once it has applied this process's writes."""
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        row = await airing_by_id(conn, request.app[SCHEMA], airing_id)
    if row is None:  # stored, but the read model has not caught up (it is reconnecting): retry shows it
        raise Problem(503, "Read model behind", f"airing {airing_id} is stored; retry to read it")
    return view(row)


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
        await handlers.operable(request.app[STORE], who, row["resource_id"])
    return row, who


async def campaign_row(request: web.Request):
    """The campaign in the path, as the read model holds it (after this process's writes): 404 if none."""
    try:
        campaign_id = uuid.UUID(request.match_info["campaign_id"])
    except ValueError:
        raise Problem(404, "Not found", "campaign ids are UUIDs") from None
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        row = await catalogue.campaign(conn, request.app[SCHEMA], campaign_id)
    if row is None:
        raise Problem(404, "Not found", f"no campaign {campaign_id}")
    return row
