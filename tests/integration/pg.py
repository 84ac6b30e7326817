"""Helpers for tests that need a fresh event store schema in the real PostgreSQL."""

from __future__ import annotations

import itertools
import os

from services.eventstore.postgres import PostgresEventStore, create_pool

_counter = itertools.count()


def unique_schema(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


async def fresh_store(pool, prefix: str = "t") -> PostgresEventStore:
    """A migrated, empty store in a schema nobody else uses."""
    store = PostgresEventStore(pool, unique_schema(prefix))
    await store.migrate()
    return store


async def open_pool(dsn: str, **kwargs):
    return await create_pool(dsn, **kwargs)
