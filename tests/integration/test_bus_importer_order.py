"""The metrics importer keeps each scheduler stream's order, whatever the delivery order."""

import asyncio
import random
from uuid import uuid4

import orjson

from contracts.events import REGISTRY
from services.bus.consumer import Consumer
from services.metrics.adapters.importer import importer
from tests.integration.pg import fresh_store

STREAMS, VERSIONS = 30, 5


def envelope(stream: str, version: int, event_id):
    body = orjson.dumps(
        {
            "event_id": str(event_id),
            "type": "schedule.AiringScheduled",
            "schema_version": 1,
            "stream_id": stream,
            "stream_version": version,
            "global_position": version,
            "occurred_at": "2023-08-07T10:00:00Z",
            "data": {
                "airing_id": str(uuid4()),
                "kind": "loudspeaker",
                "resource_id": "loudspeaker:xa-ea-tu",
                "starts_at": "2023-08-07T17:30:00+07:00",
                "ends_at": "2023-08-07T17:45:00+07:00",
                "title": f"Bản tin tiếng Êđê số {version}",
            },
        }
    )
    return REGISTRY.parse_wire(body)


async def test_shuffled_concurrent_redelivered_events_land_in_source_order(pool):
    store = await fresh_store(pool, "importer")
    consumer = Consumer("test.importer", pool, store.schema, REGISTRY, importer(store), bindings=[])
    source = {f"schedule-loudspeaker:xa-{i}": [uuid4() for _ in range(VERSIONS)] for i in range(STREAMS)}
    deliveries = [envelope(s, v + 1, ids[v]) for s, ids in source.items() for v in range(VERSIONS)]
    deliveries += random.Random(7).sample(deliveries, 40)  # redeliveries
    random.Random(10).shuffle(deliveries)
    gate = asyncio.Semaphore(50)  # as many at once as the consumer's prefetch

    async def deliver(e):
        async with gate:
            await consumer._handle_once(e)

    await asyncio.gather(*(deliver(e) for e in deliveries))

    out_of_order = 0
    for stream, ids in source.items():
        kept = await store.read_stream(stream)
        out_of_order += [e.event_id for e in kept] != ids
        assert [e.stream_version for e in kept] == list(range(1, VERSIONS + 1))
    assert out_of_order == 0
    assert await pool.fetchval(f"select count(*) from {store.schema}.held_events") == 0
    assert consumer.handled + consumer.duplicates == len(deliveries)
    assert consumer.handled == STREAMS * VERSIONS
    # Global order agrees with each stream's order: a rebuild replays the source order.
    log = await store.read_all(0, 10_000)
    seen: dict[str, int] = {}
    for e in log:
        assert e.stream_version == seen.get(e.stream_id, 0) + 1
        seen[e.stream_id] = e.stream_version


async def test_a_stored_event_without_its_inbox_mark_counts_as_handled(pool):
    store = await fresh_store(pool, "importer")
    consumer = Consumer("test.importer", pool, store.schema, REGISTRY, importer(store), bindings=[])
    first = envelope("schedule-loudspeaker:xa-1", 1, uuid4())
    await consumer._handle_once(first)
    await pool.execute(f"delete from {store.schema}.inbox")  # e.g. an inbox pruned by age
    await consumer._handle_once(first)
    assert len(await store.read_stream("schedule-loudspeaker:xa-1")) == 1
    assert consumer.handled == 2 and consumer.duplicates == 0


async def test_batched_deliveries_keep_the_order_and_a_bad_one_fails_alone(pool):
    store = await fresh_store(pool, "importer")
    consumer = Consumer(
        "test.importer", pool, store.schema, REGISTRY, importer(store), bindings=[], batch_size=200
    )
    source = {f"schedule-loudspeaker:xa-{i}": [uuid4() for _ in range(VERSIONS)] for i in range(STREAMS)}
    deliveries = [envelope(s, v + 1, ids[v]) for s, ids in source.items() for v in range(VERSIONS)]
    deliveries += random.Random(3).sample(deliveries, 20)
    random.Random(4).shuffle(deliveries)
    # A copy that disagrees with what the log will hold at its version: it must fail on its own.
    bad = envelope("schedule-loudspeaker:xa-0", 1, uuid4())
    deliveries.insert(len(deliveries) // 2, bad)
    outcomes = await asyncio.gather(
        *(consumer._handle_batched(e) for e in deliveries), return_exceptions=True
    )
    failed = [d for d, o in zip(deliveries, outcomes, strict=True) if isinstance(o, Exception)]
    assert [d.event_id for d in failed] in ([bad.event_id], [source["schedule-loudspeaker:xa-0"][0]])
    for stream, ids in source.items():
        kept = [e.event_id for e in await store.read_stream(stream)]
        if stream == "schedule-loudspeaker:xa-0" and kept and kept[0] == bad.event_id:
            continue  # the bad copy came first and took version 1: the true one failed instead
        assert kept == ids, stream
