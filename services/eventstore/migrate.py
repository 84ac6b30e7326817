"""Versioned SQL migrations, applied on start.

Each service keeps its log in its own schema; the SQL files say ``{schema}`` where
the schema name goes. Applying is safe to run twice (applied versions are
recorded) and from two processes at once (an advisory lock serialises them).
"""

from __future__ import annotations

import re
import zlib
from importlib import resources

import asyncpg
import structlog

log = structlog.get_logger(__name__)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"schema name must be a lower-case SQL identifier: {schema!r}")
    return schema


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order."""
    found = []
    for entry in resources.files("services.eventstore.migrations").iterdir():
        match = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    return sorted(found)


async def migrate(conn: asyncpg.Connection, schema: str) -> list[int]:
    """Bring ``schema`` up to the newest migration; return the versions applied now."""
    check_schema_name(schema)
    lock_key = zlib.crc32(f"loa.migrate.{schema}".encode())
    applied_now = []
    await conn.execute("select pg_advisory_lock($1)", lock_key)
    try:
        await conn.execute(f"create schema if not exists {schema}")
        await conn.execute(
            f"""create table if not exists {schema}.schema_migrations (
                    version integer primary key,
                    name text not null,
                    applied_at timestamptz not null default now())"""
        )
        done = {r["version"] for r in await conn.fetch(f"select version from {schema}.schema_migrations")}
        for version, name, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql.replace("{schema}", schema))
                await conn.execute(
                    f"insert into {schema}.schema_migrations (version, name) values ($1, $2)",
                    version,
                    name,
                )
            applied_now.append(version)
            log.info("migration applied", schema=schema, version=version, name=name)
    finally:
        await conn.execute("select pg_advisory_unlock($1)", lock_key)
    return applied_now
