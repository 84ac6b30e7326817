"""Event store benchmarks: Loa vs the raw asyncpg ceiling vs the eventsourcing peer.

All three write to and read from the same PostgreSQL, on the same table shape
(the raw table is created ``like`` Loa's, with its indexes), in the same run.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import orjson

from bench.harness import Result, Timer, median
from bench.peer import new_sample, peer_app
from contracts.events import REGISTRY
from services.eventstore.port import NewEvent, StreamAppend
from services.eventstore.postgres import EVENT_COLUMNS, PostgresEventStore, create_pool, init_connection
from services.eventstore.replay import gc_paused, replay

LOA, RAW, PEER = "loa_bench", "raw_bench", "peer_bench"
COLUMNS = EVENT_COLUMNS


def sample_event(i: int) -> NewEvent:
    """A SampleRecorded v2 like the seeds' livestream (1,700 views, 778 interactions …)."""
    return NewEvent(
        uuid4(),
        "metrics.SampleRecorded",
        2,
        {
            "airing_id": "9b2f7c1e-5a3d-4c2b-8e1f-0a1b2c3d4e5f",
            "sampled_at": "2023-08-20T21:30:00+07:00",
            "source": "facebook",
            "counters": {"views": 1700 + i, "reactions": 778, "shares": 139, "comments": 105},
        },
        {"actor": "collector:facebook", "correlation_id": "6f1c2b8e-0d4a-4c55-9a43-2b7f3c1d9e10"},
    )


class EventStoreBench:
    def __init__(self, dsn: str, *, quick: bool) -> None:
        self.dsn = dsn
        self.quick = quick
        self.seconds = 1.0 if quick else 3.0
        self.rounds = 1 if quick else 3
        # Single appends: Loa and raw in alternating short slices (ABBA), many of them, so that both
        # see the same moments of the shared disk; its fsync time drifts over seconds, by ±30 %.
        self.slices = 2 if quick else 24
        self.slice_seconds = 0.25 if quick else 0.5
        self.batch_events = 20_000 if quick else 200_000
        self.positions = itertools.count(1)

    async def setup(self) -> None:
        # Room for Loa's warm connections and raw's 16 at once, made up front: raw's slice never
        # waits for Loa's to hand theirs back, nor for a connection to be opened.
        self.pool = await create_pool(self.dsn, min_size=36, max_size=40)
        async with self.pool.acquire() as conn:
            for schema in (LOA, RAW, PEER, PEER + "_replay"):
                await conn.execute(f"drop schema if exists {schema} cascade")
        self.store = PostgresEventStore(self.pool, LOA)
        await self.store.migrate()
        async with self.pool.acquire() as conn:
            await conn.execute(f"create schema {RAW}")
            await conn.execute(f"create table {RAW}.events (like {LOA}.events including all)")
            await conn.execute(f"create table {RAW}.replay (like {LOA}.events including all)")
        async with self.pool.acquire() as conn:
            await conn.execute(f"create schema {PEER}")
            await conn.execute(f"create schema {PEER}_replay")
        self.peer = peer_app(self.dsn, PEER, pool_size=20)
        self.peer_replay = peer_app(self.dsn, PEER + "_replay", pool_size=4)

    async def teardown(self) -> None:
        self.peer.close()
        self.peer_replay.close()
        await self.store.close()
        await self.pool.close()

    async def run(self) -> list[Result]:
        await self.setup()
        try:
            results = [await self.single_append(1), await self.single_append(16)]
            results.append(await self.batch_append())
            results.append(await self.replay())
            return results
        finally:
            await self.teardown()

    # -- single-event append ------------------------------------------------------
    async def single_append(self, connections: int) -> Result:
        loa, raw = [], []
        await self._loa_single(connections, 0.2)  # warm-up: prepared statements, connections
        await self._raw_single(connections, 0.2)
        for i in range(self.slices):
            # ABBA: Loa first in slices 0, 3, 4, 7, 8 …, raw first in the others.
            if i % 4 in (0, 3):
                loa.append(await self._loa_single(connections, self.slice_seconds))
                raw.append(await self._raw_single(connections, self.slice_seconds))
            else:
                raw.append(await self._raw_single(connections, self.slice_seconds))
                loa.append(await self._loa_single(connections, self.slice_seconds))
        peer = [await asyncio.to_thread(self._peer_single, connections) for _ in range(self.rounds)]
        ratios = sorted(a / b for a, b in zip(loa, raw, strict=True))
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        return Result(
            f"single-event append, {connections} connection{'s' if connections > 1 else ''}",
            "events/s",
            median(loa),
            median(raw),
            median(peer),
            note=f"medians of {self.slices} slices of {self.slice_seconds} s each, Loa and raw alternating "
            f"(ABBA), durable commits; Loa/raw slice by slice: median {median(ratios):.3f}, quartiles "
            f"{quartiles[0]:.3f}–{quartiles[2]:.3f}; peer: median of {self.rounds} × {self.seconds:.0f} s",
        )

    async def _loa_single(self, connections: int, seconds: float) -> float:
        deadline = time.perf_counter() + seconds

        async def worker() -> int:
            stream, version = f"samples-{uuid4()}", 0
            while time.perf_counter() < deadline:
                await self.store.append(stream, [sample_event(version)], version)
                version += 1
            return version

        with Timer() as t:
            done = await asyncio.gather(*(worker() for _ in range(connections)))
        return sum(done) / t.seconds

    async def _raw_single(self, connections: int, seconds: float) -> float:
        deadline = time.perf_counter() + seconds
        sql = f"insert into {RAW}.events ({', '.join(COLUMNS)}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"

        async def worker() -> int:
            stream, n = f"samples-{uuid4()}", 0
            async with self.pool.acquire() as conn:
                while time.perf_counter() < deadline:
                    e = sample_event(n)
                    n += 1
                    await conn.execute(
                        sql, next(self.positions), stream, n, e.event_id, e.type, e.schema_version,
                        e.data, e.metadata, e.occurred_at,
                    )  # fmt: skip
            return n

        with Timer() as t:
            done = await asyncio.gather(*(worker() for _ in range(connections)))
        return sum(done) / t.seconds

    def _peer_single(self, connections: int) -> float:
        deadline = time.perf_counter() + self.seconds

        def worker() -> int:
            n = 0
            while time.perf_counter() < deadline:
                self.peer.save(new_sample(n))
                n += 1
            return n

        with Timer() as t, ThreadPoolExecutor(connections) as pool:
            done = list(pool.map(lambda _: worker(), range(connections)))
        return sum(done) / t.seconds

    # -- batch append -------------------------------------------------------------
    async def batch_append(self) -> Result:
        n = self.batch_events
        streams = 2000 if n >= 2000 else 10
        per_stream = n // streams
        events = [sample_event(i) for i in range(n)]
        appends = [
            StreamAppend(f"samples-{uuid4()}", events[s * per_stream : (s + 1) * per_stream])
            for s in range(streams)
        ]
        with Timer() as loa:
            await self.store.append_batch(appends)

        with Timer() as raw:
            records = []
            position = next(self.positions) + 10_000_000
            for a in appends:
                for version, e in enumerate(a.events, start=1):
                    records.append(
                        (position, a.stream_id, version, e.event_id, e.type, e.schema_version,
                         e.data, e.metadata, e.occurred_at)
                    )  # fmt: skip
                    position += 1
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.copy_records_to_table("replay", schema_name=RAW, records=records, columns=COLUMNS)

        aggregates = [new_sample(i) for i in range(n)]
        with Timer() as peer:
            for chunk in range(0, n, 10_000):
                await asyncio.to_thread(self.peer_replay.save, *aggregates[chunk : chunk + 10_000])
        return Result(
            f"batch append of {n:,} events",
            "events/s",
            n / loa.seconds,
            n / raw.seconds,
            n / peer.seconds,
            note="loa: append_batch (one COPY); raw: COPY; peer: Application.save(*aggregates), 10k per call",
        )

    # -- replay -------------------------------------------------------------------
    async def replay(self) -> Result:
        loa, raw, peer = [], [], []
        for _ in range(self.rounds):
            loa.append(await self._loa_replay())
            raw.append(await self._raw_replay())
            peer.append(await asyncio.to_thread(self._peer_replay))
        return Result(
            f"replay {self.batch_events:,} events into objects",
            "events/s",
            median(loa),
            median(raw),
            median(peer),
            note="loa: replay() into pydantic contracts (metadata left as JSON text and the two times as "
            "epoch microseconds until asked for, next page read ahead, cyclic GC held for the replay); "
            "raw: keyset SELECT of 5,000 rows (times as datetimes) + orjson of data and metadata, with "
            "the same read-ahead and GC hold; peer: notification log + mapper",
        )

    async def _loa_replay(self) -> float:
        n = 0
        with Timer() as t:
            async for batch in replay(self.store, REGISTRY, batch_size=5000):
                n += len(batch)
        assert n >= self.batch_events, n
        return n / t.seconds

    async def _raw_replay(self) -> float:
        n = 0
        sql = (
            "select event_id, stream_id, stream_version, global_position, type, schema_version, data, "
            f"metadata, occurred_at, recorded_at from {RAW}.replay where global_position > $1 "
            "order by global_position limit 5000"
        )
        async with self.pool.acquire() as conn:
            await conn.reset_type_codec("jsonb", schema="pg_catalog")  # text, decoded below
            with Timer() as t, gc_paused():  # the collector held as Loa's replay holds it
                rows = await conn.fetch(sql, 0)
                while rows:
                    # The next page read ahead while this one is decoded, as Loa's replay does.
                    ahead = asyncio.ensure_future(conn.fetch(sql, rows[-1][3]))
                    await asyncio.sleep(0)
                    for r in rows:
                        orjson.loads(r[6])
                        orjson.loads(r[7])
                    n += len(rows)
                    rows = await ahead
            await init_connection(conn)  # give it back with the pool's codecs
        return n / t.seconds

    def _peer_replay(self) -> float:
        app = self.peer_replay
        n, start = 0, 1
        with Timer() as t:
            while True:
                notifications = app.recorder.select_notifications(start, 5000)
                if not notifications:
                    break
                for notification in notifications:
                    app.mapper.to_domain_event(notification)
                n += len(notifications)
                start = notifications[-1].id + 1
        return n / t.seconds


async def run(dsn: str, *, quick: bool = False) -> list[Result]:
    return await EventStoreBench(dsn, quick=quick).run()
