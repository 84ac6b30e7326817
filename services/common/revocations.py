"""The revoked token ids (``access.TokenRevoked``) a service refuses, kept in memory.

Each service reads them from its own event log: the scheduler records them, the
metrics service keeps the copies it imports from ``loa.events``. A refresh every
``interval`` seconds reads only the events after the last one seen (by type and
position, an indexed read), so a revocation is honoured within seconds everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web

from contracts.events.access import TokenRevoked
from services.common.supervisor import SUPERVISOR
from services.eventstore.port import EventStore

log = structlog.get_logger(__name__)


class Revocations:
    """A set of revoked ``jti``s, refreshed from a service's event store."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.revoked: set[str] = set()
        self.position = 0

    def __contains__(self, jti: object) -> bool:
        return jti in self.revoked

    def add(self, jti: str) -> None:
        self.revoked.add(jti)

    async def refresh(self, store: EventStore) -> None:
        while events := await store.read_all(self.position, 1000, types=[TokenRevoked.wire_name]):
            for event in events:
                self.revoked.add(event.data["jti"])
                self.position = event.global_position

    async def run(self, store: EventStore) -> None:
        while True:
            try:
                await self.refresh(store)
            except Exception:  # never stops: the set keeps what it knew, the next round reads the rest
                log.exception("revoked tokens not refreshed")
            await asyncio.sleep(self.interval)


REVOCATIONS = web.AppKey("revocations", Revocations)


def watch_revocations(store_of: Callable[[web.Application], EventStore]):
    """A ``cleanup_ctx`` that keeps ``app[REVOCATIONS]`` current (after the one opening the store)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        revocations = app[REVOCATIONS]
        store = store_of(app)
        await revocations.refresh(store)  # refused from the first request on
        supervisor = app[SUPERVISOR]
        supervisor.start("revoked-tokens", lambda: revocations.run(store))
        yield
        await supervisor.stop("revoked-tokens", timeout=0)  # a sleeper: cancelled at once

    return context
