"""The revoked token ids (``access.TokenRevoked``) a service refuses, kept in memory.

Each service reads them from its own event log: the scheduler records them, the
metrics service keeps the copies it imports from ``loa.events``. A refresh every
``interval`` seconds reads only the events after the last one seen (by type and
position, an indexed read), so a revocation is honoured within seconds everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import structlog
from aiohttp import web

from contracts.events.access import TokenRevoked
from services.common.supervisor import SUPERVISOR

log = structlog.get_logger(__name__)


class Revocations:
    """A set of revoked ``jti``s, refreshed from the ``events`` table of ``schema``."""

    def __init__(self, schema: str, interval: float = 1.0) -> None:
        self.schema = schema
        self.interval = interval
        self.revoked: set[str] = set()
        self.position = 0

    def __contains__(self, jti: object) -> bool:
        return jti in self.revoked

    def add(self, jti: str) -> None:
        self.revoked.add(jti)

    async def refresh(self, pool: asyncpg.Pool) -> None:
        rows = await pool.fetch(
            f"select global_position, data->>'jti' as jti from {self.schema}.events "
            "where type = $1 and global_position > $2 order by global_position",
            TokenRevoked.wire_name,
            self.position,
        )
        for row in rows:
            self.revoked.add(row["jti"])
            self.position = row["global_position"]

    async def run(self, pool: asyncpg.Pool) -> None:
        while True:
            try:
                await self.refresh(pool)
            except Exception:  # never stops: the set keeps what it knew, the next round reads the rest
                log.exception("revoked tokens not refreshed")
            await asyncio.sleep(self.interval)


REVOCATIONS = web.AppKey("revocations", Revocations)


def watch_revocations(schema: str, pool_of: Callable[[web.Application], asyncpg.Pool]):
    """A ``cleanup_ctx`` that keeps ``app[REVOCATIONS]`` current (after the one opening the pool)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        revocations = app[REVOCATIONS]
        pool = pool_of(app)
        await revocations.refresh(pool)  # refused from the first request on
        supervisor = app[SUPERVISOR]
        supervisor.start("revoked-tokens", lambda: revocations.run(pool))
        yield
        await supervisor.stop("revoked-tokens", timeout=0)  # a sleeper: cancelled at once

    return context
