"""Generations of the statistics read model: live, rebuilt beside it and swapped, or built as of a past point.

Each generation is a schema (``<store>_g<N>``) with the projection's tables; a
pointer row says which one serves. A rebuild fills generation N+1 from the
log while N keeps serving, then swaps the pointer in one transaction, so a
dashboard never reads a half-built state. An as-of build fills a schema from
the log up to a past position; the same log always gives the same tables.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

import asyncpg
import structlog

from services.common.supervisor import Supervisor
from services.eventstore.checkpoints import CheckpointStore
from services.eventstore.parking import ParkingLot
from services.eventstore.port import EventStore, RecordedEvent
from services.eventstore.replay import gc_paused
from services.eventstore.subscription import CatchUpSubscription, Poison
from services.metrics.adapters.figures_sql import add_stored, write_figures
from services.metrics.adapters.projection import StatisticsProjection
from services.metrics.adapters.statistics_tables import create_tables
from services.metrics.domain.figures import Figures

log = structlog.get_logger(__name__)
BATCH = 5000
READ_BATCH = 20_000
FLUSH_AT = 100_000
"""Airings whose figures a build holds before writing them out."""
TASK = "statistics"
"""The supervised task that keeps the serving generation up to date, whatever its number."""


def generation_schema(store_schema: str, generation: int) -> str:
    return f"{store_schema}_g{generation}"


async def fill(
    store: EventStore, pool: asyncpg.Pool, schema: str, name: str, *, until: int | None = None
) -> tuple[int, int]:
    """Apply the log to ``schema``'s tables from checkpoint ``name`` (up to ``until``); (position, events).

    One pass in log order (the store's ``scan``, page by page), in one transaction with the
    checkpoint. The samples of the current version, nearly all of the log, are folded into figures
    straight from their stored JSON; the figures are written at the end (the newest-reading rule
    does not depend on order), or whenever more than ``FLUSH_AT`` airings are held. Events the live
    projection parked are left out, so that a rebuild gives the answer the live tables give.
    """
    checkpoints = CheckpointStore(store.schema)
    figures = Figures()
    projection = StatisticsProjection(schema, bulk=True, figures=figures)
    head = await store.head_position()  # every position up to it is committed: none appears later
    bound = head if until is None else min(until, head)
    count = 0
    async with pool.acquire() as conn:
        start = await checkpoints.load(conn, name)
        if bound <= start:
            return start, 0
        async with conn.transaction():
            await conn.execute("set local synchronous_commit = off")  # rebuildable: no flush wait
            position = start
            # On the build's own connection (``connection=``, which the PostgreSQL store takes).
            scan = functools.partial(store.scan, until=bound, skip_parked=True, connection=conn)
            while rows := await scan(position, READ_BATCH):
                with gc_paused():  # the fold allocates only acyclic readings: no collection needed
                    others = add_stored(figures, rows)
                if others:
                    await projection.apply_all(conn, others)
                if len(figures) >= FLUSH_AT:  # memory stays bounded however many airings
                    await write_figures(conn, schema, figures)
                count += len(rows)
                position = rows[-1][0]
            await write_figures(conn, schema, figures)
            await checkpoints.save(conn, name, bound)
    return bound, count


class StatisticsGenerations:
    """The generations of the statistics: the serving one and its live subscription, rebuilds
    and as-of builds. Its tables are reached through ``pool``, the log through the ``store`` port."""

    def __init__(
        self,
        store: EventStore,
        pool: asyncpg.Pool,
        *,
        after_batch: Callable[[list[RecordedEvent]], None] | None = None,
        keep_as_of: int = 4,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.store = store
        self.pool = pool
        self.supervisor = supervisor or Supervisor()
        self._parked_before = 0
        self.after_batch = after_batch
        self.keep_as_of = keep_as_of
        self.generation = 0
        self.subscription: CatchUpSubscription | None = None
        self._rebuilding = asyncio.Lock()
        self._as_of: OrderedDict[int, str] = OrderedDict()
        self._building: dict[int, asyncio.Task] = {}
        self._stale: set[int] = set()  # generations replaced, dropped shortly after
        self._dropping: set[asyncio.Task] = set()

    @property
    def schema(self) -> str:
        return generation_schema(self.store.schema, self.generation)

    @property
    def position(self) -> int:
        return self.subscription.position if self.subscription else 0

    async def start(self) -> None:
        s = self.store.schema
        async with self.pool.acquire() as conn:
            await conn.execute(
                f"""create table if not exists {s}.read_generation (
                        id int primary key default 1 check (id = 1), generation int not null);
                    insert into {s}.read_generation values (1, 1) on conflict do nothing"""
            )
            self.generation = await conn.fetchval(f"select generation from {s}.read_generation")
            await create_tables(conn, self.schema)
            await ParkingLot(s).create(conn)
            # Known before the subscription runs: a dashboard resuming at once is told the truth.
            position = await CheckpointStore(s).load(conn, f"statistics-g{self.generation}")
        self._follow(position)

    def _follow(self, position: int = 0) -> None:
        """Follow the log from the generation's checkpoint (``position``, when the caller knows it:
        what the generation serves reflects it before the subscription has loaded it).

        An event the projection cannot apply is parked and the statistics go on: samples come from
        outside, and one bad reading must not freeze every dashboard (docs/adr/0004-poison-events.md).
        """
        if self.subscription is not None:
            self._parked_before += self.subscription.parked
        subscription = self.subscription = CatchUpSubscription(
            self.store,
            f"statistics-g{self.generation}",
            StatisticsProjection(self.schema),
            batch_size=BATCH,
            durable=False,
            after_batch=self.after_batch,
            poison=Poison.PARK,
        )
        subscription.position = position
        self.supervisor.start(
            TASK, subscription.run, stop=subscription.stop, probe=lambda: subscription.trouble
        )

    @property
    def parked(self) -> int:
        """Events the serving generations parked since this process started (for /metrics)."""
        return self._parked_before + (self.subscription.parked if self.subscription else 0)

    async def stop(self) -> None:
        await self._unfollow()
        for task in list(self._dropping):
            task.cancel()
        for generation in list(self._stale):  # shutting down: no query is left to finish first
            await self._drop(generation)

    async def _unfollow(self) -> None:
        await self.supervisor.stop(TASK)

    async def wait_until(self, position: int, timeout: float = 5.0) -> None:
        await self.subscription.wait_until(position, timeout)

    async def rebuild(self) -> dict[str, int]:
        """Build the next generation from the whole log, then serve it; the old one is dropped
        a little later, once the queries that started on it are done."""
        async with self._rebuilding:
            old, new = self.generation, self.generation + 1
            schema = generation_schema(self.store.schema, new)
            name = f"statistics-g{new}"
            async with self.pool.acquire() as conn:
                await conn.execute(f"drop schema if exists {schema} cascade")
                await CheckpointStore(self.store.schema).reset(conn, name)
                await create_tables(conn, schema)
            started = asyncio.get_running_loop().time()
            _, applied = await fill(self.store, self.pool, schema, name)
            await self._unfollow()
            position, _ = await fill(self.store, self.pool, schema, name)  # what arrived during the build
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(f"update {self.store.schema}.read_generation set generation = $1", new)
            self.generation = new
            self._follow(position)
            self._stale.add(old)
            task = asyncio.create_task(self._drop_later(old), name=f"drop-statistics-g{old}")
            self._dropping.add(task)
            task.add_done_callback(self._dropped)
            seconds = asyncio.get_running_loop().time() - started
            log.info("read model rebuilt", generation=new, events=applied, seconds=round(seconds, 3))
            return {"generation": new, "events": applied}

    def _dropped(self, task: asyncio.Task) -> None:
        self._dropping.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Left behind, it is dropped at the next stop; said here, since nobody awaits this task.
            log.error(
                "old statistics generation not dropped", task=task.get_name(), exc_info=task.exception()
            )

    async def _drop_later(self, generation: int) -> None:
        await asyncio.sleep(2)  # queries that started on the old generation finish first
        await self._drop(generation)

    async def _drop(self, generation: int) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(
                f"drop schema if exists {generation_schema(self.store.schema, generation)} cascade"
            )
            await CheckpointStore(self.store.schema).reset(conn, f"statistics-g{generation}")
        self._stale.discard(generation)

    async def position_at(self, at: datetime) -> int:
        """The last global position recorded at or before ``at``."""
        return await self.store.last_position(recorded_until=at)

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
        async with self.pool.acquire() as conn:
            await conn.execute(f"drop schema if exists {schema} cascade")
            await CheckpointStore(self.store.schema).reset(conn, name)
            await create_tables(conn, schema)
        await fill(self.store, self.pool, schema, name, until=position)
        self._as_of[position] = schema
        while len(self._as_of) > self.keep_as_of:
            _, stale = self._as_of.popitem(last=False)
            async with self.pool.acquire() as conn:
                await conn.execute(f"drop schema if exists {stale} cascade")
        return schema
