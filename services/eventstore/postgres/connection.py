"""Connections to the event store's PostgreSQL: JSON codecs, and a pool that keeps them."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from services.eventstore.port import RawJson


def _jsonb_encode(value: Any) -> bytes:
    if type(value) is RawJson:
        return b"\x01" + value  # jsonb's binary format: version 1, then JSON text
    return b"\x01" + orjson.dumps(value)


def _jsonb_decode(data: bytes) -> Any:
    return orjson.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection setup: JSON columns travel as Python objects, encoded with orjson.

    The binary jsonb format lets COPY carry JSON without a text round trip.
    """
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "json", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
    )


async def _release(conn: asyncpg.Connection) -> None:
    """Make a connection fit for its next user, without a round trip when it is clean.

    asyncpg's default sends ``RESET ALL; UNLISTEN *; CLOSE ALL; …`` on every
    release: one more round trip per append. The store leaves no session state
    behind (its settings and locks are transaction-local, its listeners removed),
    so only an unfinished transaction needs undoing.
    """
    if conn.is_in_transaction():
        await conn.execute("rollback")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
    """A pool whose connections carry the JSON codecs the store expects."""
    return await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=init_connection, reset=_release, **kwargs
    )
