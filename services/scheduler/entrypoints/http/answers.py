"""What every scheduler route shares: refusals as problems, the airing as an answer, and read
your writes (a read-model answer waits until the model shows what this process wrote)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import structlog
from aiohttp import web
from pydantic import BaseModel

from contracts.http.scheduler import AiringView
from contracts.localtime import to_local
from services.common import pages
from services.common.web import Problem
from services.scheduler.adapters import catalogue
from services.scheduler.adapters.projection import airing_by_id
from services.scheduler.app.listing import listed
from services.scheduler.app.streams import Recorded, TooBusy
from services.scheduler.domain.errors import (
    Conflict,
    Forbidden,
    InvalidCommand,
    InvalidTransition,
    NotFound,
    UnknownResource,
)
from services.scheduler.keys import POOL, SCHEDULES, SCHEMA, STORE, SUBSCRIPTION, WRITTEN

log = structlog.get_logger(__name__)
STORED_WAIT = 2.0  # seconds a command on an airing not listed yet waits for the read model to list it
HEAD_SETTLES = 0.02  # seconds between two reads of the store's head that must agree before a 404


def view(row) -> AiringView:
    """An airing as the read model lists it."""
    data = dict(row)
    for key in ("starts_at", "ends_at", "actual_start", "actual_end"):
        if data[key] is not None:
            data[key] = to_local(data[key])
    return AiringView(**data)


async def decided(request: web.Request, recorded: Recorded, airing_id: uuid.UUID) -> AiringView:
    """The airing a command changed, as the schedule that decided it holds it: what the read model
    will list once it applies the events, without waiting for it (app/listing.py)."""
    return listed(recorded.state, airing_id) or await current(request, airing_id)


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


async def read_page(
    request: web.Request,
    fetch: Callable[[Any, int], Awaitable[tuple[list, int | None]]],
    limit: int,
    key: Callable[[Any], list],
) -> tuple[list, int | None, str | None]:
    """One page of a read-model list, after this process's writes: ``fetch(conn, limit + 1)`` reads
    the rows (and the total when asked); the page, the total and the cursor after its last row (by
    ``key``) when more follow."""
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        rows, total = await fetch(conn, limit + 1)
    rows, more = pages.split(rows, limit)
    return rows, total, pages.encode(key(rows[-1])) if more and rows else None


Q = TypeVar("Q", bound=BaseModel)
EVERYWHERE = frozenset({"token"})  # a token in the query, for clients that cannot send headers


def only_known(request: web.Request, model: type[Q]) -> type[Q]:
    """``model`` once the query names none but its parameters: 400 naming each other one (a filter
    misspelt or not supported would otherwise be ignored and the whole list answered)."""
    known = {field.alias or name for name, field in model.model_fields.items()} | EVERYWHERE
    unknown = sorted(set(request.query) - known)
    if unknown:
        reason = f"not a parameter of {request.path}; it takes {', '.join(sorted(known - EVERYWHERE))}"
        raise Problem(
            400, "Unknown query parameter", f"unknown: {', '.join(unknown)}",
            errors=[{"field": name, "reason": reason} for name in unknown],
        )  # fmt: skip
    return model


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
    row = await _listed_row(request, airing_id)
    if row is None:
        if request.app[SUBSCRIPTION].position < request.app[WRITTEN].position:
            # This process wrote what the read model has not shown yet (it is halted or reconnecting).
            raise Problem(503, "Read model behind", f"the read model has not shown airing {airing_id} yet")
        raise Problem(404, "Not found", f"no airing {airing_id}")
    return row


async def _listed_row(request: web.Request, airing_id: uuid.UUID) -> Any:
    """The airing's row as the read model lists it now, or None."""
    async with request.app[POOL].acquire() as conn:
        return await airing_by_id(conn, request.app[SCHEMA], airing_id)


async def located(request: web.Request, wait: float = STORED_WAIT) -> Any:
    """The airing in the path for a command: only its id and its resource are used, and an airing
    never changes resource, so a schedule this process remembers, or a row the read model already
    lists, serves without waiting (the command is decided on the resource's stream). An id not
    listed yet may be an airing planned moments ago on another replica: before a 404, wait
    (``wait`` seconds at most) until the read model has applied everything the store had committed
    (:func:`_listed_soon`)."""
    airing_id = path_airing_id(request)
    resource_id = request.app[SCHEDULES].resource_of(airing_id)  # decided here moments ago: no read
    if resource_id is not None:
        return {"airing_id": airing_id, "resource_id": resource_id}
    row = await _listed_row(request, airing_id)
    if row is not None:
        return row
    row, behind = await _listed_soon(request, airing_id, wait)
    if row is None:
        if behind:
            raise Problem(503, "Read model behind", f"the read model has not shown airing {airing_id} yet")
        raise Problem(404, "Not found", f"no airing {airing_id}")
    return row


async def _listed_soon(request: web.Request, airing_id: uuid.UUID, wait: float) -> tuple[Any, bool]:
    """The airing's row once the read model has applied the store's head, and whether the model is
    behind it (503 rather than 404). The store's head is the highest position no transaction in
    flight hides (ADR 0001): a commit just before a slower one shows only once that one ends, so the
    head is read again until two reads a pause apart agree, never past the deadline."""
    store, model, loop = request.app[STORE], request.app[SUBSCRIPTION], asyncio.get_running_loop()
    deadline, seen = loop.time() + wait, 0

    async def head() -> int:
        return max(await store.head_position(), request.app[WRITTEN].position)

    while (committed := await head()) > seen or model.position < seen:
        seen = max(seen, committed)
        if model.position < seen:
            with contextlib.suppress(TimeoutError):
                await model.wait_until(seen, timeout=max(deadline - loop.time(), 0.001))
        row = await _listed_row(request, airing_id)
        if row is not None or loop.time() >= deadline or model.position < seen:
            return row, row is None and model.position < seen
        await asyncio.sleep(HEAD_SETTLES)
    return None, False


async def current(request: web.Request, airing_id: uuid.UUID) -> AiringView:
    """The airing as the read model shows it once it has applied this process's writes."""
    await fresh(request)
    row = await _listed_row(request, airing_id)
    if row is None:  # stored, but the read model has not caught up (it is reconnecting): retry shows it
        raise Problem(503, "Read model behind", f"airing {airing_id} is stored; retry to read it")
    return view(row)


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
