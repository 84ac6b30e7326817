"""The event store's contract, as tests that every implementation must pass.

Subclasses provide a ``store`` fixture; tests/unit runs them on the in-memory
store and tests/integration on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import orjson
import pytest

from services.eventstore.port import (
    DivergentCopy,
    DuplicateEventId,
    Expect,
    InvalidAppend,
    NewEvent,
    StreamAppend,
    WrongExpectedVersion,
)


def scheduled(title: str = "Phát thanh BHYT học sinh, sinh viên bằng tiếng Êđê") -> NewEvent:
    return NewEvent(
        event_id=uuid4(),
        type="schedule.AiringScheduled",
        schema_version=1,
        data={"title": title, "language": "Êđê", "commune": "Xã Ea Tu"},
        metadata={"actor": "planner:dak-lak", "correlation_id": str(uuid4())},
    )


def sample(views: int) -> NewEvent:
    return NewEvent(
        event_id=uuid4(),
        type="metrics.SampleRecorded",
        schema_version=2,
        data={"counters": {"views": views}},
    )


class EventStoreContract:
    """Behaviour every EventStore promises (services/eventstore/port.py)."""

    async def test_append_to_new_stream_numbers_versions_from_one(self, store):
        result = await store.append("airing-1", [scheduled(), scheduled()], Expect.NO_STREAM)
        assert (result.first_version, result.last_version) == (1, 2)
        assert result.positions[0] < result.positions[1]
        assert not result.duplicate
        events = await store.read_stream("airing-1")
        assert [e.stream_version for e in events] == [1, 2]
        assert [e.global_position for e in events] == list(result.positions)

    async def test_round_trip_keeps_data_metadata_and_diacritics(self, store):
        event = scheduled("Giờ thứ 9 – Câu chuyện chính sách (M'nông)")
        await store.append("airing-2", [event])
        [read] = await store.read_stream("airing-2")
        assert read.event_id == event.event_id
        assert read.type == event.type and read.schema_version == 1
        assert read.data == event.data
        assert read.metadata == event.metadata
        assert read.occurred_at == event.occurred_at
        assert read.recorded_at is not None
        assert read.category == "airing"

    async def test_exact_expected_version_must_match(self, store):
        await store.append("airing-3", [scheduled()], Expect.NO_STREAM)
        await store.append("airing-3", [scheduled()], 1)
        with pytest.raises(WrongExpectedVersion) as err:
            await store.append("airing-3", [scheduled()], 1)
        assert (err.value.expected, err.value.actual) == (1, 2)
        assert "expected version 1, actual version 2" in str(err.value)
        assert len(await store.read_stream("airing-3")) == 2

    async def test_no_stream_refuses_an_existing_stream(self, store):
        await store.append("airing-4", [scheduled()])
        with pytest.raises(WrongExpectedVersion) as err:
            await store.append("airing-4", [scheduled()], Expect.NO_STREAM)
        assert err.value.actual == 1

    async def test_exact_zero_means_empty_stream(self, store):
        await store.append("airing-5", [scheduled()], 0)
        with pytest.raises(WrongExpectedVersion):
            await store.append("airing-5", [scheduled()], 0)

    async def test_any_appends_after_whatever_is_there(self, store):
        for _ in range(3):
            await store.append("airing-6", [scheduled()], Expect.ANY)
        assert [e.stream_version for e in await store.read_stream("airing-6")] == [1, 2, 3]

    async def test_resending_the_same_events_returns_the_original_positions(self, store):
        events = [scheduled(), scheduled()]
        first = await store.append("airing-7", events, Expect.NO_STREAM)
        again = await store.append("airing-7", events, Expect.NO_STREAM)
        assert again.duplicate
        assert again.positions == first.positions
        assert (again.first_version, again.last_version) == (1, 2)
        assert len(await store.read_stream("airing-7")) == 2

    async def test_reusing_some_event_ids_in_another_append_is_refused(self, store):
        old = scheduled()
        await store.append("airing-8", [old])
        with pytest.raises(DuplicateEventId) as err:
            await store.append("airing-8", [old, scheduled()])
        assert old.event_id in err.value.event_ids
        with pytest.raises(DuplicateEventId):
            await store.append("airing-other", [old])
        assert len(await store.read_stream("airing-8")) == 1

    async def test_malformed_appends_are_refused_before_writing(self, store):
        with pytest.raises(InvalidAppend):
            await store.append("airing-9", [])
        twin = scheduled()
        with pytest.raises(InvalidAppend):
            await store.append("airing-9", [twin, twin])
        with pytest.raises(InvalidAppend):
            await store.append("", [scheduled()])
        assert await store.read_stream("airing-9") == []

    async def test_read_stream_from_version_with_limit(self, store):
        await store.append("airing-10", [scheduled() for _ in range(5)])
        events = await store.read_stream("airing-10", from_version=2, limit=2)
        assert [e.stream_version for e in events] == [2, 3]
        assert await store.read_stream("airing-missing") == []

    async def test_read_all_in_global_order_after_a_position(self, store):
        start = await store.head_position()
        a = await store.append("airing-11", [scheduled()])
        b = await store.append("sample-11", [sample(1), sample(2)])
        c = await store.append("airing-11", [scheduled()])
        events = await store.read_all(start, limit=100)
        assert [e.global_position for e in events] == [*a.positions, *b.positions, *c.positions]
        assert await store.head_position() == c.last_position
        tail = await store.read_all(a.last_position, limit=2)
        assert [e.global_position for e in tail] == list(b.positions)

    async def test_read_all_by_category_and_by_type(self, store):
        start = await store.head_position()
        await store.append("airing-12", [scheduled()])
        await store.append("sample-12", [sample(10)])
        await store.append("airing-13", [scheduled()])
        by_category = await store.read_all(start, category="airing")
        assert [e.stream_id for e in by_category] == ["airing-12", "airing-13"]
        by_type = await store.read_all(start, types=["metrics.SampleRecorded"])
        assert [e.stream_id for e in by_type] == ["sample-12"]

    async def test_batch_append_spans_streams_in_one_write(self, store):
        start = await store.head_position()
        await store.append("sample-b1", [sample(1)])
        results = await store.append_batch(
            [
                StreamAppend("sample-b1", [sample(2), sample(3)], 1),
                StreamAppend("sample-b2", [sample(4)], Expect.NO_STREAM),
                StreamAppend("sample-b1", [sample(5)]),
            ]
        )
        assert [(r.first_version, r.last_version) for r in results] == [(2, 3), (1, 1), (4, 4)]
        events = await store.read_all(start, limit=100)
        assert [e.data["counters"]["views"] for e in events] == [1, 2, 3, 4, 5]

    async def test_batch_is_all_or_nothing(self, store):
        await store.append("sample-b3", [sample(1)])
        with pytest.raises(WrongExpectedVersion):
            await store.append_batch(
                [
                    StreamAppend("sample-b4", [sample(2)], Expect.NO_STREAM),
                    StreamAppend("sample-b3", [sample(3)], Expect.NO_STREAM),
                ]
            )
        assert await store.read_stream("sample-b4") == []

    async def test_resent_batch_returns_the_original_positions(self, store):
        batch = [StreamAppend("sample-b5", [sample(1)]), StreamAppend("sample-b6", [sample(2)])]
        first = await store.append_batch(batch)
        again = await store.append_batch(batch)
        assert [r.positions for r in again] == [r.positions for r in first]
        assert all(r.duplicate for r in again)

    async def test_concurrent_appends_with_the_same_expected_version_let_one_win(self, store):
        await store.append("airing-race", [scheduled()])
        outcomes = await asyncio.gather(
            *(store.append("airing-race", [scheduled()], 1) for _ in range(8)), return_exceptions=True
        )
        assert sum(not isinstance(o, Exception) for o in outcomes) == 1
        assert all(isinstance(o, WrongExpectedVersion) for o in outcomes if isinstance(o, Exception))
        assert len(await store.read_stream("airing-race")) == 2

    async def test_concurrent_any_appends_all_land(self, store):
        await asyncio.gather(*(store.append("airing-any", [scheduled()]) for _ in range(8)))
        assert [e.stream_version for e in await store.read_stream("airing-any")] == list(range(1, 9))

    async def test_read_stream_and_read_all_until_a_position(self, store):
        start = await store.head_position()
        first = await store.append("sample-u1", [sample(1), sample(2)])
        await store.append("sample-u1", [sample(3)])
        as_then = await store.read_stream("sample-u1", until=first.last_position)
        assert [e.data["counters"]["views"] for e in as_then] == [1, 2]
        upto = await store.read_all(start, types=["metrics.SampleRecorded"], until=first.positions[0])
        assert [e.global_position for e in upto] == [first.positions[0]]

    async def test_read_positions_returns_those_events_in_order(self, store):
        a = await store.append("airing-p1", [scheduled()])
        b = await store.append("airing-p2", [scheduled(), scheduled()])
        wanted = {b.positions[1], a.positions[0]}
        found = await store.read_positions(wanted | {b.positions[1] + 10**9})
        assert [e.global_position for e in found] == [a.positions[0], b.positions[1]]
        assert await store.read_positions([]) == []

    async def test_last_position_of_types_and_categories(self, store):
        assert await store.last_position(types=["access.TokenRevoked"]) == 0
        a = await store.append("airing-l1", [scheduled()])
        s = await store.append("sample-l1", [sample(1)])
        await store.append("airing-l2", [scheduled()])
        assert await store.last_position(types=["metrics.SampleRecorded"]) == s.last_position
        assert await store.last_position(category="sample") == s.last_position
        assert await store.last_position() == await store.head_position()
        [recorded] = await store.read_positions([a.last_position])
        assert await store.last_position(recorded_until=recorded.recorded_at) >= a.last_position
        earlier = recorded.recorded_at - timedelta(days=1)
        assert await store.last_position(recorded_until=earlier) < a.last_position

    async def test_stream_head_and_event_id_at(self, store):
        assert await store.stream_head("airing-h1") == 0
        events = [scheduled(), scheduled(), scheduled()]
        await store.append("airing-h1", events)
        assert await store.stream_head("airing-h1") == 3
        assert await store.event_id_at("airing-h1", 2) == events[1].event_id
        assert await store.event_id_at("airing-h1", 4) is None
        assert await store.event_id_at("airing-h2", 1) is None

    async def test_stored_event_ids_names_those_already_kept(self, store):
        kept = [sample(1), sample(2)]
        await store.append("sample-k1", kept)
        await store.append("sample-k2", [sample(3)])
        unknown = uuid4()
        found = await store.stored_event_ids([kept[1].event_id, unknown, kept[0].event_id])
        assert found == {kept[0].event_id, kept[1].event_id}
        assert await store.stored_event_ids([]) == set()

    async def test_scan_pages_the_log_as_stored_json_in_global_order(self, store):
        start = await store.head_position()
        a = await store.append("airing-s1", [scheduled("Bản tin tiếng M'nông")])
        b = await store.append("sample-s1", [sample(1), sample(2)])
        c = await store.append("airing-s1", [scheduled()])
        rows = await store.scan(start)
        assert [r[0] for r in rows] == [*a.positions, *b.positions, *c.positions]
        _, kind, version, payload = rows[0]
        assert (kind, version) == ("schedule.AiringScheduled", 1)
        assert orjson.loads(payload)["title"] == "Bản tin tiếng M'nông"
        assert [orjson.loads(r[3])["counters"]["views"] for r in rows[1:3]] == [1, 2]
        pages, after = [], start
        while page := await store.scan(after, 2):
            pages.append([r[0] for r in page])
            after = page[-1][0]
        assert pages == [[*a.positions, b.positions[0]], [b.positions[1], *c.positions]]
        upto = await store.scan(start, until=b.positions[0])
        assert [r[0] for r in upto] == [*a.positions, b.positions[0]]
        assert await store.scan(c.last_position) == []

    async def test_append_in_order_appends_the_next_version(self, store):
        first, second = scheduled(), scheduled()
        assert await store.append_in_order("schedule-o1", first, 1) == (1, False)
        assert await store.append_in_order("schedule-o1", second, 2) == (1, False)
        assert [e.event_id for e in await store.read_stream("schedule-o1")] == [
            first.event_id,
            second.event_id,
        ]

    async def test_append_in_order_holds_an_early_arrival_until_the_gap_fills(self, store):
        events = [scheduled(f"Bản tin số {v}") for v in range(1, 5)]
        assert await store.append_in_order("schedule-o2", events[3], 4) == (0, True)
        assert await store.append_in_order("schedule-o2", events[1], 2) == (0, True)
        assert await store.read_stream("schedule-o2") == []  # the gap is still open: nothing shows
        assert await store.append_in_order("schedule-o2", events[0], 1) == (2, False)  # 1, then 2
        assert [e.event_id for e in await store.read_stream("schedule-o2")] == [
            events[0].event_id,
            events[1].event_id,
        ]  # 4 still waits for 3
        assert await store.append_in_order("schedule-o2", events[2], 3) == (2, False)  # 3, then 4
        kept = await store.read_stream("schedule-o2")
        assert [e.event_id for e in kept] == [e.event_id for e in events]
        assert [e.data["title"] for e in kept] == [f"Bản tin số {v}" for v in range(1, 5)]
        assert kept[3].metadata == events[3].metadata
        positions = [e.global_position for e in kept]
        assert positions == sorted(positions)  # the global order agrees with the source's

    async def test_append_in_order_takes_a_redelivery_once(self, store):
        events = [scheduled() for _ in range(3)]
        await store.append_in_order("schedule-o3", events[0], 1)
        assert await store.append_in_order("schedule-o3", events[0], 1) == (0, False)  # stored
        assert await store.append_in_order("schedule-o3", events[2], 3) == (0, True)
        assert await store.append_in_order("schedule-o3", events[2], 3) == (0, True)  # held once
        assert await store.append_in_order("schedule-o3", events[1], 2) == (2, False)
        assert [e.event_id for e in await store.read_stream("schedule-o3")] == [e.event_id for e in events]
        assert await store.append_in_order("schedule-o3", events[2], 3) == (0, False)  # after release

    async def test_append_in_order_refuses_a_copy_that_disagrees_with_its_source(self, store):
        kept = scheduled()
        await store.append_in_order("schedule-o4", kept, 1)
        stranger = scheduled()
        with pytest.raises(DivergentCopy) as err:
            await store.append_in_order("schedule-o4", stranger, 1)
        assert (err.value.kept, err.value.sent) == (kept.event_id, stranger.event_id)
        assert [e.event_id for e in await store.read_stream("schedule-o4")] == [kept.event_id]

    async def test_concurrent_arrivals_in_any_order_land_in_source_order(self, store):
        events = [scheduled(f"Bản tin số {v}") for v in range(1, 9)]
        arrivals = [(v, e) for v, e in enumerate(events, start=1)]
        arrivals = arrivals[::-1] + arrivals[2:5]  # latest first, some twice
        outcomes = await asyncio.gather(*(store.append_in_order("schedule-o5", e, v) for v, e in arrivals))
        assert sum(o.appended for o in outcomes) == len(events)
        kept = await store.read_stream("schedule-o5")
        assert [e.event_id for e in kept] == [e.event_id for e in events]
