import gc
from contextlib import aclosing
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts.events import REGISTRY
from contracts.events.metrics import SampleRecorded
from contracts.registry import UnknownEventType
from services.eventstore.codec import encode
from services.eventstore.port import NewEvent, StreamAppend
from services.eventstore.replay import replay
from tests.integration.pg import fresh_store

AIRING = uuid4()


def reading(views: int) -> SampleRecorded:
    return SampleRecorded(
        airing_id=AIRING,
        sampled_at="2023-08-20T21:30:00+07:00",
        source="facebook",
        counters={"views": views, "shares": 139, "comments": 105},
    )


async def test_replay_decodes_every_event_in_order_and_upcasts_old_ones(pool):
    store = await fresh_store(pool, "replay")
    for views in range(1, 11):
        await store.append(f"samples-{AIRING}", [encode(reading(views))])
    v1 = {
        "airing_id": str(AIRING),
        "sampled_at": "2023-08-20T22:00:00+07:00",
        "source": "facebook",
        "views": 1700,
        "reactions": 778,
        "shares": 139,
        "comments": 105,
    }
    await store.append(f"samples-{AIRING}", [NewEvent(uuid4(), "metrics.SampleRecorded", 1, v1)])

    batches = []
    async for batch in replay(store, REGISTRY, batch_size=4):
        assert not gc.isenabled()  # held for the whole replay, between batches too
        batches.append(batch)
    assert gc.isenabled()  # and given back at its end
    assert [len(b) for b in batches] == [4, 4, 3]
    events = [e for b in batches for e in b]
    assert [e.event.counters["views"] for e in events] == [*range(1, 11), 1700]
    assert events[-1].event.counters["reactions"] == 778
    positions = [e.global_position for e in events]
    assert positions == sorted(positions)
    assert [e.stream_version for e in events] == list(range(1, 12))

    tail = [e async for b in replay(store, REGISTRY, after=positions[7]) for e in b]
    assert [e.global_position for e in tail] == positions[8:]
    envelope = events[0].envelope()
    assert envelope.data == reading(1) and envelope.stream_id == f"samples-{AIRING}"
    stored = await store.read_stream(f"samples-{AIRING}")
    # The times, kept as microseconds until read, are the stored instants to the microsecond.
    assert [(e.occurred_at, e.recorded_at) for e in events] == [
        (r.occurred_at, r.recorded_at) for r in stored
    ]
    assert envelope.recorded_at == stored[0].recorded_at and envelope.occurred_at.tzinfo is not None
    assert any(e.recorded_at.microsecond for e in events)  # the microseconds are there to compare

    # The connection went back to the pool with its usual JSON codecs.
    assert (await store.read_stream(f"samples-{AIRING}", limit=1))[0].data["counters"]["views"] == 1
    await store.close()


async def test_a_page_of_mixed_types_and_versions_decodes_in_log_order(pool):
    store = await fresh_store(pool, "replay")
    v1 = {"airing_id": str(AIRING), "sampled_at": "2023-08-20T22:00:00+07:00", "source": "zalo", "views": 9}
    await store.append("samples-mixed", [encode(reading(1))])
    await store.append("samples-mixed", [NewEvent(uuid4(), "metrics.SampleRecorded", 1, v1)])
    await store.append("samples-mixed", [encode(reading(2))])
    events = [e async for b in replay(store, REGISTRY, batch_size=100) for e in b]
    assert [e.event.counters["views"] for e in events] == [1, 9, 2]
    assert [type(e.event) for e in events] == [SampleRecorded] * 3
    assert events[1].event.source == "zalo" and events[0].meta().model_dump(exclude_none=True) == {}
    bad = {"airing_id": str(AIRING), "sampled_at": "2023-08-20T22:05:00+07:00", "source": "", "counters": {}}
    await store.append("samples-bad", [NewEvent(uuid4(), "metrics.SampleRecorded", 2, bad)])
    with pytest.raises(ValidationError) as err:  # a page fails as its one bad payload would
        [b async for b in replay(store, REGISTRY)]
    assert {e["loc"] for e in err.value.errors()} == {("source",), ("counters",)}
    after_bad = await store.head_position()
    unknown = NewEvent(uuid4(), "legacy.Unknown", 1, {"x": 1})
    await store.append("legacy-1", [unknown])  # a type no contract knows: loud, never skipped
    with pytest.raises(UnknownEventType):
        [b async for b in replay(store, REGISTRY, after=after_bad)]
    await store.close()


async def test_a_replay_left_early_gives_its_connection_back_usable(pool):
    store = await fresh_store(pool, "replay")
    await store.append_batch(
        [StreamAppend(f"samples-{i}", [encode(reading(v)) for v in range(50)]) for i in range(4)]
    )
    async for batch in replay(store, REGISTRY, batch_size=20):
        assert len(batch) == 20
        break  # the page read ahead is still on its way
    seen = [e async for b in replay(store, REGISTRY, batch_size=20) for e in b]
    assert len(seen) == 200
    assert len(await store.read_stream("samples-0")) == 50
    await store.close()


async def test_a_replay_closed_early_gives_the_collector_back(pool):
    store = await fresh_store(pool, "replay")
    await store.append("samples-gc", [encode(reading(v)) for v in range(30)])
    async with aclosing(replay(store, REGISTRY, batch_size=10)) as pages:
        async for _ in pages:
            assert not gc.isenabled()
            break
    assert gc.isenabled()
    await store.close()
