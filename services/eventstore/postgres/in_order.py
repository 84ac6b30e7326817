"""Copies of another log's streams, kept in the source's order (``append_in_order``, ADR 0003).

Early arrivals wait in ``held_events`` (migration 0003) until the gap before them is filled.
Arrivals of one stream queue on the advisory lock that ``reserve_stream`` (migrations 0005–0006) queues
"any" appends on, so every writer of the stream waits in one line.
"""

from __future__ import annotations

import asyncpg
import structlog

from services.eventstore.port import DivergentCopy, InOrder, NewEvent, StreamAppend

log = structlog.get_logger(__name__)


class InOrderAppends:
    """``append_in_order`` of :class:`~services.eventstore.postgres.PostgresEventStore` (its reads
    and its append run on the caller's connection when it gives one)."""

    pool: asyncpg.Pool
    schema: str

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        super().__init__(pool, schema)
        s = schema
        self._lock_sql = "select pg_advisory_xact_lock(hashtextextended($1, 0))"
        self._hold_sql = (
            f"insert into {s}.held_events (stream_id, stream_version, event_id, type, schema_version, "
            "data, metadata, occurred_at) values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing"
        )
        self._held_sql = (
            "select stream_version, event_id, type, schema_version, data, metadata, occurred_at "
            f"from {s}.held_events where stream_id = $1 and stream_version > $2 order by stream_version"
        )
        self._release_sql = f"delete from {s}.held_events where stream_id = $1 and stream_version <= $2"

    async def append_in_order(
        self, stream_id: str, event: NewEvent, version: int, *, connection: asyncpg.Connection | None = None
    ) -> InOrder:
        """See :class:`~services.eventstore.port.EventStore`. With ``connection`` it joins the
        caller's open transaction (a consumer's, with its inbox mark); without, it runs in its own."""
        if connection is not None:
            return await self._in_order(connection, stream_id, event, version)
        async with self.pool.acquire() as conn, conn.transaction():
            result = await self._in_order(conn, stream_id, event, version)
        if result.appended:
            self.notify_appended()
        return result

    async def _in_order(
        self, conn: asyncpg.Connection, stream: str, event: NewEvent, version: int
    ) -> InOrder:
        await conn.execute(self._lock_sql, stream)
        current = await self.stream_head(stream, connection=conn)
        if version <= current:
            kept = await self.event_id_at(stream, version, connection=conn)
            if kept != event.event_id:
                raise DivergentCopy(stream, version, kept, event.event_id)
            return InOrder(0)  # already copied (a redelivery whose inbox mark is gone)
        if version > current + 1:
            await conn.execute(
                self._hold_sql, stream, version, event.event_id, event.type, event.schema_version,
                event.data, event.metadata, event.occurred_at,
            )  # fmt: skip
            log.info("held until the stream's gap is filled", stream=stream, version=version, head=current)
            return InOrder(0, held=True)
        events = [event]
        for row in await conn.fetch(self._held_sql, stream, version):
            if row[0] != version + len(events):
                break
            events.append(NewEvent(*row[1:]))
        # The append is the transaction's first write to the log (docs/adr/0001); the lock above
        # made sure the stream's previous writer committed before this transaction took its id.
        await self.append_batch([StreamAppend(stream, events, current)], connection=conn)
        if len(events) > 1:
            await conn.execute(self._release_sql, stream, version + len(events) - 1)
        return InOrder(len(events))
