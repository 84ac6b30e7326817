"""The metrics handlers on the in-memory event store: given events, when a command, then events."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from contracts.envelope import EventMetadata
from contracts.events.metrics import SampleRecorded
from services.eventstore.codec import encode_many
from services.eventstore.memory import InMemoryEventStore
from services.eventstore.port import StreamAppend
from services.metrics.app.handlers import record_samples
from services.metrics.domain.samples import sample_id, samples_stream

LIVESTREAM = uuid4()  # "Livestream BHXH Đắk Lắk tháng 8"
ZALO_POST = uuid4()
NOW = datetime(2023, 8, 25, 21, 0, tzinfo=UTC)
META = EventMetadata(actor="collector:facebook")


async def known(ids):
    return ids & {LIVESTREAM, ZALO_POST}


def item(airing, minutes, **counters):
    at = (NOW - timedelta(minutes=minutes)).isoformat()
    return {"airing_id": str(airing), "sampled_at": at, "source": "facebook", "counters": counters}


async def given(store, *items):
    """Samples already stored, as a previous batch stored them."""
    samples = [SampleRecorded.model_validate(i) for i in items]
    await store.append_batch(
        [StreamAppend(samples_stream(s.airing_id), encode_many([s], META, [sample_id(s)])) for s in samples]
    )


async def stream(store, airing):
    return [(e.data["counters"], e.event_id) for e in await store.read_stream(samples_stream(airing))]


async def test_valid_samples_go_to_their_airings_streams_and_the_others_are_named():
    store = InMemoryEventStore()
    items = [
        item(LIVESTREAM, 30, views=900, shares=20),
        item(LIVESTREAM, 1, views=1700, interactions=778, shares=139, comments=105),
        item(ZALO_POST, 5, views=882),
        item(uuid4(), 5, views=3),  # an airing the statistics do not know
        item(LIVESTREAM, 2, views=-1),
    ]
    recorded = await record_samples(store, known, items, META, now=NOW)
    assert recorded.accepted == 3
    assert [(r.index, r.field) for r in recorded.rejected] == [(3, "airing_id"), (4, "counters.views")]
    assert [c for c, _ in await stream(store, LIVESTREAM)] == [
        {"views": 900, "shares": 20},
        {"views": 1700, "interactions": 778, "shares": 139, "comments": 105},
    ]
    assert [c for c, _ in await stream(store, ZALO_POST)] == [{"views": 882}]
    assert recorded.position == await store.head_position()
    (event,) = await store.read_stream(samples_stream(ZALO_POST))
    assert event.type == SampleRecorded.wire_name and event.metadata["actor"] == "collector:facebook"


async def test_a_batch_sent_again_stores_nothing_twice():
    store = InMemoryEventStore()
    items = [item(LIVESTREAM, 10, views=1500), item(LIVESTREAM, 1, views=1700)]
    await given(store, *items)
    before = await store.head_position()
    recorded = await record_samples(store, known, items, META, now=NOW)
    assert (recorded.accepted, recorded.rejected, recorded.position) == (2, [], 0)
    assert await store.head_position() == before and len(await stream(store, LIVESTREAM)) == 2


async def test_only_the_new_samples_of_a_partly_stored_batch_are_appended():
    store = InMemoryEventStore()
    old = item(LIVESTREAM, 10, views=1500)
    await given(store, old)
    new = item(LIVESTREAM, 1, views=1700, comments=105)
    recorded = await record_samples(store, known, [old, new, new], META, now=NOW)
    assert recorded.accepted == 3  # every item was valid; the same reading is stored once
    kept = await stream(store, LIVESTREAM)
    assert [c for c, _ in kept] == [{"views": 1500}, {"views": 1700, "comments": 105}]
    assert kept[1][1] == sample_id(SampleRecorded.model_validate(new))


async def test_a_batch_of_nothing_valid_appends_nothing():
    store = InMemoryEventStore()
    recorded = await record_samples(
        store, known, [item(uuid4(), 1, views=1), {"airing_id": None}], META, now=NOW
    )
    assert recorded.accepted == 0 and len(recorded.rejected) == 2 and recorded.position == 0
    assert await store.head_position() == 0


async def test_an_airing_the_read_model_does_not_list_yet_is_asked_again_after_it_caught_up():
    # The read model follows the log a moment later: the Zalo post was planned just now.
    store = InMemoryEventStore()
    listed = {LIVESTREAM}
    waits = []

    async def listed_airings(ids):
        return ids & listed

    async def catch_up():
        waits.append(1)
        listed.add(ZALO_POST)

    items = [item(ZALO_POST, 5, views=882), item(uuid4(), 5, views=3)]
    recorded = await record_samples(store, listed_airings, items, META, now=NOW, catch_up=catch_up)
    assert recorded.accepted == 1 and [r.index for r in recorded.rejected] == [1] and waits == [1]
    waits.clear()
    livestream = [item(LIVESTREAM, 1, views=1700)]
    await record_samples(store, listed_airings, livestream, META, now=NOW, catch_up=catch_up)
    assert waits == []  # every airing listed: nothing to wait for
