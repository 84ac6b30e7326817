"""Replaying the log into contract objects, fast enough for million-event rebuilds.

A replay reads one consistent snapshot (a read-only REPEATABLE READ transaction)
through a server-side cursor, up to the safe position of that snapshot, and
decodes each payload straight from its JSON bytes into its contract object —
no intermediate dicts, no full envelopes (``DecodedEvent.envelope()`` builds one
when needed). A caller that wants to go on live afterwards subscribes from the
last position it got.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson

from contracts.base import Event
from contracts.envelope import Envelope, EventMetadata
from contracts.registry import EventRegistry
from services.eventstore.codec import envelope_of
from services.eventstore.postgres import PostgresEventStore, init_connection


class DecodedEvent(NamedTuple):
    """A recorded event whose payload is its contract object (upcast when it was old).

    ``metadata`` stays as its JSON bytes until :meth:`meta` is asked for: most
    projections never look at it.
    """

    event_id: UUID
    stream_id: str
    stream_version: int
    global_position: int
    type: str
    event: Event
    metadata: bytes
    occurred_at: datetime
    recorded_at: datetime

    def meta(self) -> EventMetadata:
        return EventMetadata.model_validate_json(self.metadata)

    def envelope(self) -> Envelope[Event]:
        return envelope_of(self, self.event, self.meta())


Decoder = Callable[[bytes], Event]


class Decoders:
    """One JSON-bytes-to-contract function per (type, schema_version), found once."""

    def __init__(self, registry: EventRegistry) -> None:
        self.registry = registry
        self._known: dict[tuple[str, int], Decoder] = {}

    def __call__(self, type_: str, schema_version: int) -> Decoder:
        decoder = self._known.get((type_, schema_version))
        if decoder is None:
            decoder = self._known[(type_, schema_version)] = self._make(type_, schema_version)
        return decoder

    def _make(self, type_: str, schema_version: int) -> Decoder:
        cls = self.registry.event_class(type_)
        if schema_version == cls.schema_version:
            return cls.model_validate_json
        registry = self.registry
        return lambda raw: registry.decode(type_, schema_version, orjson.loads(raw))


def decode_rows(decoders: Decoders, rows: Sequence[Any]) -> list[DecodedEvent]:
    """Decode rows in RecordedEvent column order whose ``data``/``metadata`` are JSON bytes."""
    with gc_paused():
        return [
            DecodedEvent(e_id, stream, version, position, type_, decoders(type_, sv)(data), meta, occ, rec)
            for e_id, stream, version, position, type_, sv, data, meta, occ, rec in rows
        ]


@contextmanager
def gc_paused():
    """Hold the cyclic garbage collector while a batch is built.

    Decoding allocates many small acyclic objects; each allocation burst would
    otherwise trigger collections that walk every live object (a projection's
    whole state), which cost more than the decoding itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def replay(
    store: PostgresEventStore,
    registry: EventRegistry,
    *,
    after: int = 0,
    batch_size: int = 5000,
    types: Sequence[str] | None = None,
    category: str | None = None,
) -> AsyncIterator[list[DecodedEvent]]:
    """Yield the log after ``after`` in decoded batches, in global order, from one snapshot.

    Everything committed when the replay starts and below the snapshot's safe
    position is yielded; later events are left to a subscription started from
    the last position yielded.
    """
    filters, extra = store.filters(types, category, first_parameter=3)
    sql = (
        f"{store.select_columns} where global_position > $1 and global_position < $2{filters} "
        "order by global_position"
    )
    decoders = Decoders(registry)
    async with store.pool.acquire() as conn:
        await _raw_json(conn)
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                bound = await conn.fetchval(f"select {store.schema}.safe_position()")
                cursor = await conn.cursor(sql, after, bound, *extra)
                while rows := await cursor.fetch(batch_size):
                    yield decode_rows(decoders, rows)
        finally:
            await init_connection(conn)


async def _raw_json(conn) -> None:
    """Let jsonb columns arrive as their JSON bytes, for pydantic to parse directly."""
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: v, decoder=lambda b: b[1:], schema="pg_catalog", format="binary"
    )
