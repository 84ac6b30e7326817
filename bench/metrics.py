"""Metrics benchmarks, side by side in one run, against the service running as a subprocess.

- ingestion: samples published to ``metrics.samples`` until the read model holds them all, against
  the broker's own ceiling (same client library, persistent messages with confirms into a quorum
  queue, consumed and acknowledged);
- rebuild: every statistic rebuilt from the log (``POST /v1/admin/rebuild``) against a raw
  read + orjson decode of the same events and the eventsourcing peer's replay into a projection;
- live latency: samples posted at 1,000/s, time until the SSE message of that airing arrives;
- memory of the service after the rebuild.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aio_pika
import aiohttp
import asyncpg
import orjson

from bench.harness import Result, Timer, within
from bench.peer import new_sample, peer_app
from bench.scheduler import bench_vhost, free_port, percentile, process, rss_mb
from contracts.envelope import EventMetadata
from contracts.events.metrics import SampleRecorded
from contracts.events.schedule import AiringKind, AiringScheduled
from services.common.auth import issue
from services.eventstore.codec import encode_many, random_ids
from services.eventstore.port import Expect, StreamAppend
from services.eventstore.postgres import PostgresEventStore, create_pool
from services.metrics.domain.samples import samples_stream

SECRET = "bench-secret-0123456789-0123456789-abcdef"  # 32+ bytes: services refuse shorter keys
COLLECTOR = {"Authorization": f"Bearer {issue(SECRET, 'bench collector', 'collector')}"}
NATIONAL = {"Authorization": f"Bearer {issue(SECRET, 'bench planner', 'planner')}"}
SCHEMA = "metrics"
PERSISTENT = aio_pika.DeliveryMode.PERSISTENT
PEER = "peer_metrics_bench"
START = datetime(2025, 1, 1, 20, 0, tzinfo=UTC)


async def reached(position: Callable[[], Awaitable[int]], target: int, seconds: float, what: str) -> None:
    """Poll ``position()`` until it reaches ``target``, for at most ``seconds``."""

    async def poll() -> None:
        while await position() < target:  # noqa: ASYNC110 — polling the service
            await asyncio.sleep(0.05)

    await within(seconds, f"{what} (position {target})", poll())


async def load_log(dsn: str, events: int, airings: int) -> list[uuid.UUID]:
    """A metrics log of ``events`` events: ``airings`` livestreams and samples of them."""
    pool = await create_pool(dsn, min_size=1, max_size=4)
    store = PostgresEventStore(pool, SCHEMA)
    await store.migrate()
    ids = [uuid.uuid4() for _ in range(airings)]
    meta = EventMetadata(actor="bench")
    scheduled = [
        AiringScheduled(airing_id=a, kind=AiringKind.livestream, resource_id=f"page:facebook:p{i % 50}",
                        starts_at=START, ends_at=START + timedelta(hours=1), title="Livestream BHXH")
        for i, a in enumerate(ids)
    ]  # fmt: skip
    await store.append_batch(
        [StreamAppend("imported", encode_many(scheduled, meta, random_ids(airings)), Expect.ANY)]
    )
    left, n = events - airings, 0
    while left > 0:
        chunk = min(left, 100_000)
        per_airing: dict[uuid.UUID, list[SampleRecorded]] = {}
        for i in range(chunk):
            airing = ids[(n + i) % airings]
            per_airing.setdefault(airing, []).append(
                SampleRecorded(airing_id=airing, sampled_at=START + timedelta(seconds=n + i),
                               source="facebook", counters={"views": n + i, "comments": (n + i) // 16})
            )  # fmt: skip
        # each airing's samples in its own stream, as the service stores them (samples_stream)
        await store.append_batch([
            StreamAppend(samples_stream(a), encode_many(samples, meta, random_ids(len(samples))), Expect.ANY)
            for a, samples in per_airing.items()
        ])  # fmt: skip
        left -= chunk
        n += chunk
    await store.close()
    await pool.close()
    return ids


async def raw_read(dsn: str) -> tuple[float, int]:
    """The ceiling of a rebuild: read every event in keyset batches and decode its JSON."""
    conn = await asyncpg.connect(dsn)
    try:
        count, position = 0, 0
        with Timer() as t:
            while True:
                rows = await conn.fetch(
                    f"select global_position, data::text from {SCHEMA}.events where global_position > $1 "
                    "order by global_position limit 5000",
                    position,
                )
                if not rows:
                    break
                for r in rows:
                    orjson.loads(r[1])
                count += len(rows)
                position = rows[-1][0]
        return t.seconds, count
    finally:
        await conn.close()


def peer_rebuild(dsn: str, n: int) -> float:
    """The peer: save ``n`` sampled aggregates, then read its notification log into a projection."""
    app = peer_app(dsn, PEER, pool_size=4)
    try:
        aggregates = [new_sample(i) for i in range(n)]
        for chunk in range(0, n, 10_000):
            app.save(*aggregates[chunk : chunk + 10_000])
        figures: dict = {}
        with Timer() as t:
            start, seen = 1, 0
            while seen < n:
                notifications = app.recorder.select_notifications(start, 5000)
                if not notifications:
                    break
                for notification in notifications:
                    event = app.mapper.to_domain_event(notification)
                    figures[event.originator_id] = event.views
                seen += len(notifications)
                start = notifications[-1].id + 1
        return seen / t.seconds
    finally:
        app.close()


async def broker_ceiling(url: str, n: int) -> float:
    """Messages/s through a quorum queue: persistent, confirmed publishes consumed and acknowledged."""
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        name = f"bench.ceiling.{uuid.uuid4().hex[:8]}"
        queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=4000)
        done, got = asyncio.Event(), 0

        async def on_message(message):
            nonlocal got
            await message.ack()
            got += 1
            if got == n:
                done.set()

        body = orjson.dumps({"airing_id": str(uuid.uuid4()), "sampled_at": START.isoformat(),
                             "counters": {"views": 1700, "comments": 105}})  # fmt: skip
        queue_for_consume = await consumer.get_queue(name)
        await queue_for_consume.consume(on_message)
        with Timer() as t:
            for chunk in range(0, n, 500):
                await asyncio.gather(*(
                    channel.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=PERSISTENT), routing_key=name)
                    for _ in range(min(500, n - chunk))
                ))  # fmt: skip
            await within(600, f"the broker ceiling: {n:,} messages consumed", done.wait())
        await queue.delete(if_unused=False, if_empty=False)
    return n / t.seconds


async def ingest_via_queue(
    url: str, dsn: str, airings: list[uuid.UUID], n: int, caught_up: Callable[[], Awaitable[int]]
) -> float:
    """Samples/s from publishing to ``metrics.samples`` until the log holds every one and the
    statistics (``caught_up()``: the position the service's statistics reflect) the last of them."""
    conn = await asyncpg.connect(dsn)
    before = await conn.fetchval(f"select coalesce(max(global_position), 0) from {SCHEMA}.events")
    # the samples stored, counted as they become safe to read (below the oldest open transaction,
    # so none appears behind the count later; each scan reads only what is new), then the
    # statistics caught up with the last of them
    stored = f"""select count(*), max(global_position) from {SCHEMA}.events
                 where global_position > $1 and global_position < {SCHEMA}.safe_position()
                   and data->>'source' = 'queue'"""
    connection = await aio_pika.connect_robust(url)
    try:
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            with Timer() as t:
                for chunk in range(0, n, 500):
                    await asyncio.gather(*(
                        channel.default_exchange.publish(aio_pika.Message(orjson.dumps({
                            "airing_id": str(airings[i % len(airings)]), "source": "queue",
                            "sampled_at": (START + timedelta(days=1, seconds=i)).isoformat(),
                            "counters": {"views": 10_000 + i}}), delivery_mode=PERSISTENT),
                            routing_key="metrics.samples")
                        for i in range(chunk, min(chunk + 500, n))
                    ))  # fmt: skip
                count, last = 0, before

                async def stored_all() -> None:
                    nonlocal count, last
                    while count < n:
                        await asyncio.sleep(0.05)
                        more, newest = await conn.fetchrow(stored, last)
                        count, last = count + more, newest or last

                await within(300, f"{n:,} samples stored by the service", stored_all())
                await reached(caught_up, last, 120, "the statistics caught up with the samples")
        return n / t.seconds
    finally:
        await conn.close()


async def sse_latency(base: str, airings: list[uuid.UUID], rate: float, seconds: float) -> list[float]:
    """Post samples at ``rate``/s (batches every 50 ms); latency = sample posted -> its SSE message."""
    sent: dict[tuple[str, int], float] = {}
    latencies: list[float] = []
    token = NATIONAL["Authorization"].removeprefix("Bearer ")
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        ready = asyncio.Event()

        async def listen():
            async with session.get(f"{base}/v1/stream?token={token}") as response:
                data = None
                async for raw in response.content:
                    line = raw.decode().rstrip("\r\n")
                    if line.startswith("event: hello") or line.startswith("event:hello"):
                        ready.set()
                    elif line.startswith("data:"):
                        data = orjson.loads(line[5:])
                    elif line == "" and data and "airing_id" in data:
                        key = (data["airing_id"], data["counters"].get("views", -1))
                        if key in sent:
                            latencies.append(time.perf_counter() - sent.pop(key))
                        data = None

        listener = asyncio.create_task(listen())
        await asyncio.wait_for(ready.wait(), 10)
        per_batch, i = int(rate * 0.05), 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            due = time.perf_counter()
            items = []
            for _ in range(per_batch):
                airing = str(airings[i % len(airings)])
                value = 1_000_000 + i
                items.append({"airing_id": airing, "source": "sse-bench", "counters": {"views": value},
                              "sampled_at": (START + timedelta(days=60, seconds=i)).isoformat()})  # fmt: skip
                sent[(airing, value)] = due
                i += 1
            async with session.post(f"{base}/v1/samples", json={"items": items}, headers=COLLECTOR) as r:
                await r.read()
            await asyncio.sleep(max(0.0, 0.05 - (time.perf_counter() - due)))
        await asyncio.sleep(1)
        listener.cancel()
    # Updates are coalesced per airing: a sample superseded by a newer one of the same airing in the
    # same batch is never sent on its own; only samples whose own message arrived are counted.
    return latencies


async def run(dsn: str, quick: bool = False) -> list[Result]:
    events = 50_000 if quick else 1_000_000
    airings_n = 1_000 if quick else 10_000
    conn = await asyncpg.connect(dsn)
    for schema in await conn.fetch("select nspname from pg_namespace where nspname like 'metrics%'"):
        await conn.execute(f"drop schema {schema['nspname']} cascade")
    await conn.execute(f"drop schema if exists {PEER} cascade")
    await conn.execute(f"create schema {PEER}")
    await conn.close()
    with Timer() as loading:
        airings = await load_log(dsn, events, airings_n)
    # as a table that has lived would be, and so that autovacuum's first pass over the freshly
    # loaded log does not land in the middle of a measurement
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"vacuum analyze {SCHEMA}.events")
    await conn.close()
    url = bench_vhost()  # its own virtual host: no service of ./loa up takes the bench's samples
    port = free_port()
    env = {"LOA_PG_DSN": dsn, "LOA_AMQP_URL": url, "LOA_METRICS_PORT": str(port), "LOA_TOKEN_SECRET": SECRET,
           "LOA_LOG_LEVEL": "warning", "LOA_LOG_FORMAT": "json"}  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    results = []
    async with (
        process(["-m", "services.metrics"], env, port) as service,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1800)) as session,
    ):
        # the live generation catches up with the loaded log first
        async def caught_up():
            async with session.get(f"{base}/v1/stats", headers=NATIONAL) as r:
                return (await r.json())["as_of_position"]

        await reached(caught_up, await _head(dsn), 1800, "the live statistics caught up with the loaded log")
        with Timer() as rebuild:
            async with session.post(f"{base}/v1/admin/rebuild", headers=NATIONAL) as r:
                rebuilt = await r.json()
        peak = rss_mb(service.pid, "VmHWM")
        raw_seconds, raw_count = await raw_read(dsn)
        peer = await asyncio.to_thread(peer_rebuild, dsn, 20_000 if quick else 100_000)
        results.append(Result(
            f"rebuild statistics from {events:,} events", "events/s", rebuilt["events"] / rebuild.seconds,
            raw=raw_count / raw_seconds, peer=peer,
            note=f"POST /v1/admin/rebuild {rebuild.seconds:.1f} s; raw: keyset SELECT + orjson; peer: "
            f"eventsourcing notification log + mapper into a dict ({20_000 if quick else 100_000:,} events); "
            f"log loaded in {loading.seconds:.0f} s",
        ))  # fmt: skip
        results.append(Result(f"metrics service peak RSS after a {events:,}-event rebuild", "MB", peak,
                              note="target < 300 MB"))  # fmt: skip

        n = 10_000 if quick else 50_000
        ceiling = await broker_ceiling(url, n)
        loa = await within(
            600, f"{n:,} queued samples stored and counted", ingest_via_queue(url, dsn, airings, n, caught_up)
        )
        results.append(Result(
            "samples through RabbitMQ into store and statistics", "samples/s", loa, raw=ceiling,
            note=f"{n:,} persistent samples; raw: aio-pika publish (confirms) -> quorum queue -> consume+ack",
        ))  # fmt: skip

        # newer than every loaded sample (they span up to ~12 days), so each one moves a figure
        latencies = await sse_latency(base, airings[:200], 1000.0, 5 if quick else 20)
        if not latencies:
            raise RuntimeError("no SSE message matched a posted sample")
        for name, p in (("p50", 0.5), ("p99", 0.99)):
            results.append(Result(
                f"sample -> SSE client at 1k samples/s, {name}", "ms", percentile(latencies, p) * 1000,
                note=f"{len(latencies):,} samples timed; lower is better"
                + ("; target p99 < 100 ms" if name == "p99" else ""),
            ))  # fmt: skip
    return results


async def _head(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(f"select coalesce(max(global_position), 0) from {SCHEMA}.events")
    finally:
        await conn.close()
