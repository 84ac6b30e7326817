"""Parked events: what a subscription could not apply, kept with the reason where people look.

A projection that parks an event writes it here in the transaction that moves
its checkpoint past it, so the event is either applied or parked, never lost
from sight. The event itself stays in the log: a rebuild after a fix applies it.
"""

from __future__ import annotations

import zlib

import asyncpg

from services.eventstore.migrate import check_schema_name
from services.eventstore.port import RecordedEvent

TABLE = """
create table if not exists {s}.parked (
    subscription    text not null,
    event_id        uuid not null,
    global_position bigint not null,
    type            text not null,
    error           text not null,
    parked_at       timestamptz not null default now(),
    primary key (subscription, event_id)
)"""


class ParkingLot:
    """``<schema>.parked``, written on the caller's connection (inside its transaction)."""

    def __init__(self, schema: str) -> None:
        self.schema = check_schema_name(schema)
        self._lock = zlib.crc32(f"loa.parked.{schema}".encode())

    async def create(self, conn: asyncpg.Connection) -> None:
        # Two subscriptions of one store start at once: "if not exists" alone races on the catalogue.
        async with conn.transaction():
            await conn.execute("select pg_advisory_xact_lock($1)", self._lock)
            await conn.execute(TABLE.replace("{s}", self.schema))

    async def park(
        self, conn: asyncpg.Connection, subscription: str, event: RecordedEvent, error: str
    ) -> None:
        await conn.execute(
            f"insert into {self.schema}.parked (subscription, event_id, global_position, type, error) "
            "values ($1, $2, $3, $4, $5) on conflict do nothing",
            subscription,
            event.event_id,
            event.global_position,
            event.type,
            error[:2000],
        )

    async def list(self, conn: asyncpg.Connection, subscription: str | None = None) -> list[asyncpg.Record]:
        """Parked events in log order (of one subscription, or all)."""
        return await conn.fetch(
            "select subscription, event_id, global_position, type, error, parked_at "
            f"from {self.schema}.parked where $1::text is null or subscription = $1 order by global_position",
            subscription,
        )

    def skip_clause(self, position_column: str) -> str:
        """A condition leaving out events parked by any subscription of this store (for rebuilds);
        ``position_column`` qualified (``e.global_position``), or it would name the parked row's."""
        return (
            f"not exists (select 1 from {self.schema}.parked p where p.global_position = {position_column})"
        )
