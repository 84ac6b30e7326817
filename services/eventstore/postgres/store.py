"""The PostgreSQL event store (asyncpg): one service's log, in that service's schema.

An append of one stream is one round trip; a batch is one transaction with a COPY. Readers only
see positions below the oldest transaction still in flight, so they never pass an event that
commits later (docs/adr/0001-gap-free-global-order.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg

from services.eventstore.migrate import check_schema_name, migrate
from services.eventstore.postgres.append import AppendStatements, EventAppends
from services.eventstore.postgres.in_order import InOrderAppends
from services.eventstore.postgres.known import KnownVersions
from services.eventstore.postgres.notify import Notifier, listening
from services.eventstore.postgres.read import EventReads
from services.eventstore.postgres.warm import WarmConnections


class PostgresEventStore(InOrderAppends, EventAppends, EventReads):
    """The event store of one service, kept in that service's schema."""

    def __init__(
        self, pool: asyncpg.Pool, schema: str = "eventstore", *, known_streams: int = 16_384
    ) -> None:
        """``known_streams``: how many streams' versions the store remembers having seen committed,
        so that an append at such a version skips the probe of the table (0: probe every time)."""
        super().__init__(pool, check_schema_name(schema))
        self.channel = f"loa_events_{schema}"
        self._notifier = Notifier(pool, self.channel)
        self._statements = AppendStatements(self.schema)
        self._warm = WarmConnections(pool)
        self._known = KnownVersions(known_streams)

    async def migrate(self) -> list[int]:
        """Apply pending migrations of this store's schema."""
        self._known.forget()
        async with self.pool.acquire() as conn:
            return await migrate(conn, self.schema)

    def notify_appended(self) -> None:
        """Wake subscribers after a caller committed a transaction that appended events."""
        self._notifier.poke()

    @asynccontextmanager
    async def listen(self, callback: Callable[[], None]) -> AsyncIterator[asyncpg.Connection]:
        """Hold a pooled connection that LISTENs on this store's channel (see :func:`listening`);
        appends of this store in this process call ``callback`` at once, without the round trip."""
        self._notifier.local.add(callback)
        try:
            async with listening(self.pool, self.channel, callback) as conn:
                yield conn
        finally:
            self._notifier.local.discard(callback)

    async def close(self) -> None:
        await self._notifier.close()
        await self._warm.close()
