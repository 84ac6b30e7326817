"""Failed short-code redemptions per client address, kept in PostgreSQL so that every replica of the
scheduler counts the same attempts (the rule is ``domain/redeem_limits.py``)."""

from __future__ import annotations

import zlib
from datetime import datetime

import asyncpg

from services.scheduler.domain.redeem_limits import FAILURES, WINDOW, retry_after

TABLE = """
create table if not exists {s}.redeem_failures (
    attempt_id bigint generated always as identity primary key,
    address    text not null,
    failed_at  timestamptz not null
);
create index if not exists redeem_failures_address on {s}.redeem_failures (address, failed_at);
"""

_ready: set[str] = set()  # schemas whose table this process has created (a name, not a connection)


async def _table(conn: asyncpg.Connection, schema: str) -> None:
    if schema in _ready:
        return
    async with conn.transaction():
        # Replicas starting together: one creates the table, the others wait and find it.
        await conn.execute("select pg_advisory_xact_lock($1)", zlib.crc32(f"loa.redeem.{schema}".encode()))
        await conn.execute(TABLE.replace("{s}", schema))
    _ready.add(schema)


async def reserve(
    conn: asyncpg.Connection, schema: str, address: str, now: datetime
) -> tuple[int | None, int]:
    """Count this attempt as a failure before the code is checked, so concurrent guesses from one
    address never get past the limit together: (seconds to wait or None, the attempt's id).

    A refused attempt is not kept (waiting out the window is enough); the caller forgets the
    attempt when its code was right (:func:`forget`)."""
    await _table(conn, schema)
    attempt = await conn.fetchval(
        f"insert into {schema}.redeem_failures (address, failed_at) values ($1, $2) returning attempt_id",
        address,
        now,
    )
    rows = await conn.fetch(
        f"""select failed_at from {schema}.redeem_failures
            where address = $1 and failed_at > $2 and attempt_id <> $3
            order by failed_at desc limit {FAILURES}""",
        address,
        now - WINDOW,
        attempt,
    )
    wait = retry_after([r["failed_at"] for r in rows], now)
    if wait is not None:
        await forget(conn, schema, attempt)
    else:
        # Old failures of this address are of no use any more.
        await conn.execute(
            f"delete from {schema}.redeem_failures where address = $1 and failed_at <= $2",
            address,
            now - WINDOW,
        )
    return wait, attempt


async def forget(conn: asyncpg.Connection, schema: str, attempt: int) -> None:
    await conn.execute(f"delete from {schema}.redeem_failures where attempt_id = $1", attempt)
