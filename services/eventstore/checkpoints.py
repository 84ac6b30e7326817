"""Checkpoints: how far each subscriber has read, committed with the rows it covers."""

from __future__ import annotations

import asyncpg

from services.eventstore.migrate import check_schema_name


class CheckpointStore:
    """Reads and writes ``<schema>.checkpoints`` on a connection the caller holds.

    ``save`` runs on the caller's connection so that it commits, or rolls back,
    together with the projection rows or side effects it covers.
    """

    def __init__(self, schema: str) -> None:
        self.schema = check_schema_name(schema)
        self._load = f"select position from {schema}.checkpoints where name = $1"
        self._save = (
            f"insert into {schema}.checkpoints (name, position) values ($1, $2) "
            "on conflict (name) do update set position = excluded.position, updated_at = now()"
        )

    async def load(self, conn: asyncpg.Connection, name: str) -> int:
        """The position ``name`` has handled up to (0 when it never ran)."""
        return await conn.fetchval(self._load, name) or 0

    async def save(self, conn: asyncpg.Connection, name: str, position: int) -> None:
        """Record that ``name`` has handled everything up to ``position``."""
        await conn.execute(self._save, name, position)

    async def reset(self, conn: asyncpg.Connection, name: str) -> None:
        """Forget ``name``'s checkpoint: its next run starts from the beginning."""
        await conn.execute(f"delete from {self.schema}.checkpoints where name = $1", name)
