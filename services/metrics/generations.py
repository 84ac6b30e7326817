"""Generations of the statistics read model: live, rebuilt beside it and swapped, or built as of a past point.

Each generation is a schema (``<store>_g<N>``) with the projection's tables; a
pointer row says which one serves. A rebuild fills generation N+1 from the
log while N keeps serving, then swaps the pointer in one transaction, so a
dashboard never reads a half-built state. An as-of build fills a schema from
the log up to a past position; the same log always gives the same tables.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

import structlog

from services.eventstore.checkpoints import CheckpointStore
from services.eventstore.port import RecordedEvent
from services.eventstore.postgres import PostgresEventStore
from services.eventstore.subscription import CatchUpSubscription
from services.metrics.projection import StatisticsProjection, create_tables

log = structlog.get_logger(__name__)
BATCH = 5000


def generation_schema(store_schema: str, generation: int) -> str:
    return f"{store_schema}_g{generation}"


async def fill(
    store: PostgresEventStore, schema: str, name: str, *, until: int | None = None
) -> tuple[int, int]:
    """Apply the log to ``schema``'s tables from checkpoint ``name`` (up to ``until``); (position, events)."""
    projection = StatisticsProjection(schema, bulk=True)
    checkpoints = CheckpointStore(store.schema)
    applied = 0
    async with store.pool.acquire() as conn:
        position = await checkpoints.load(conn, name)
        while until is None or position < until:
            batch = await store.read_all(position, BATCH, connection=conn)
            if until is not None:
                batch = [e for e in batch if e.global_position <= until]
            if not batch:
                break
            async with conn.transaction():
                await conn.execute("set local synchronous_commit = off")  # rebuildable: no flush wait
                await projection(conn, batch)
                await checkpoints.save(conn, name, batch[-1].global_position)
            position = batch[-1].global_position
            applied += len(batch)
        async with conn.transaction():
            await projection.finish(conn)
    return position, applied


class ReadModel:
    """The serving generation, its live subscription, rebuilds and as-of builds."""

    def __init__(
        self,
        store: PostgresEventStore,
        *,
        after_batch: Callable[[list[RecordedEvent]], None] | None = None,
        keep_as_of: int = 4,
    ) -> None:
        self.store = store
        self.after_batch = after_batch
        self.keep_as_of = keep_as_of
        self.generation = 0
        self.subscription: CatchUpSubscription | None = None
        self._task: asyncio.Task | None = None
        self._rebuilding = asyncio.Lock()
        self._as_of: OrderedDict[int, str] = OrderedDict()
        self._building: dict[int, asyncio.Task] = {}

    @property
    def schema(self) -> str:
        return generation_schema(self.store.schema, self.generation)

    @property
    def position(self) -> int:
        return self.subscription.position if self.subscription else 0

    async def start(self) -> None:
        s = self.store.schema
        async with self.store.pool.acquire() as conn:
            await conn.execute(
                f"""create table if not exists {s}.read_generation (
                        id int primary key default 1 check (id = 1), generation int not null);
                    insert into {s}.read_generation values (1, 1) on conflict do nothing"""
            )
            self.generation = await conn.fetchval(f"select generation from {s}.read_generation")
            await create_tables(conn, self.schema)
        self._follow()

    def _follow(self) -> None:
        self.subscription = CatchUpSubscription(
            self.store,
            f"statistics-g{self.generation}",
            StatisticsProjection(self.schema),
            batch_size=BATCH,
            durable=False,
            after_batch=self.after_batch,
        )
        self._task = asyncio.create_task(self.subscription.run(), name=f"statistics-g{self.generation}")

    async def stop(self) -> None:
        if self.subscription is not None:
            self.subscription.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 5)

    async def wait_until(self, position: int, timeout: float = 5.0) -> None:
        await self.subscription.wait_until(position, timeout)

    async def rebuild(self) -> dict[str, int]:
        """Build the next generation from the whole log, then serve it; the old one is dropped."""
        async with self._rebuilding:
            old, new = self.generation, self.generation + 1
            schema = generation_schema(self.store.schema, new)
            name = f"statistics-g{new}"
            async with self.store.pool.acquire() as conn:
                await conn.execute(f"drop schema if exists {schema} cascade")
                await CheckpointStore(self.store.schema).reset(conn, name)
                await create_tables(conn, schema, indexes=False)
            started = asyncio.get_running_loop().time()
            _, applied = await fill(self.store, schema, name)
            async with self.store.pool.acquire() as conn:
                await create_tables(conn, schema)  # now the index, in one pass
            await self.stop()
            await fill(self.store, schema, name)  # what arrived during the build
            async with self.store.pool.acquire() as conn, conn.transaction():
                await conn.execute(f"update {self.store.schema}.read_generation set generation = $1", new)
            self.generation = new
            self._follow()
            await asyncio.sleep(2)  # queries that started on the old generation finish first
            async with self.store.pool.acquire() as conn:
                await conn.execute(
                    f"drop schema if exists {generation_schema(self.store.schema, old)} cascade"
                )
                await CheckpointStore(self.store.schema).reset(conn, f"statistics-g{old}")
            seconds = asyncio.get_running_loop().time() - started
            log.info("read model rebuilt", generation=new, events=applied, seconds=round(seconds, 3))
            return {"generation": new, "events": applied}

    async def _drop_later(self, generation: int) -> None:
        await asyncio.sleep(2)  # queries that started on the old generation finish first
        async with self.store.pool.acquire() as conn:
            await conn.execute(
                f"drop schema if exists {generation_schema(self.store.schema, generation)} cascade"
            )
            await CheckpointStore(self.store.schema).reset(conn, f"statistics-g{generation}")

    async def position_at(self, at: datetime) -> int:
        """The last global position recorded at or before ``at``."""
        async with self.store.pool.acquire() as conn:
            return await conn.fetchval(
                f"select coalesce(max(global_position), 0) from {self.store.schema}.events "
                "where recorded_at <= $1",
                at,
            )

    async def as_of(self, position: int) -> str:
        """A schema holding the statistics as they stood at ``position`` (built once, then reused)."""
        if position in self._as_of:
            self._as_of.move_to_end(position)
            return self._as_of[position]
        task = self._building.get(position)
        if task is None:
            task = self._building[position] = asyncio.create_task(self._build_as_of(position))
        try:
            schema = await asyncio.shield(task)
        finally:
            self._building.pop(position, None)
        return schema

    async def _build_as_of(self, position: int) -> str:
        schema = f"{self.store.schema}_asof_{position}"
        name = f"as-of-{position}"
        async with self.store.pool.acquire() as conn:
            await conn.execute(f"drop schema if exists {schema} cascade")
            await CheckpointStore(self.store.schema).reset(conn, name)
            await create_tables(conn, schema, indexes=False)
        await fill(self.store, schema, name, until=position)
        async with self.store.pool.acquire() as conn:
            await create_tables(conn, schema)
        self._as_of[position] = schema
        while len(self._as_of) > self.keep_as_of:
            _, stale = self._as_of.popitem(last=False)
            async with self.store.pool.acquire() as conn:
                await conn.execute(f"drop schema if exists {stale} cascade")
        return schema
