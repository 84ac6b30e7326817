from uuid import uuid4

from contracts.events import REGISTRY
from contracts.events.metrics import SampleRecorded
from services.eventstore.codec import encode
from services.eventstore.port import NewEvent
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

    batches = [b async for b in replay(store, REGISTRY, batch_size=4)]
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

    # The connection went back to the pool with its usual JSON codecs.
    assert (await store.read_stream(f"samples-{AIRING}", limit=1))[0].data["counters"]["views"] == 1
    await store.close()
