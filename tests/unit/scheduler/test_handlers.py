"""The scheduler's handlers on the in-memory event store: given events, when a command, then the
events recorded and the answer. No read model and no server: a handler decides on the streams."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from contracts.envelope import EventMetadata
from contracts.events.reference import ResourceDescribed, ResourceDescription
from contracts.events.schedule import (
    AiringBumped,
    AiringConfirmed,
    AiringKind,
    AiringRescheduled,
    AiringScheduled,
    Outcome,
    Priority,
)
from services.common.auth import Principal
from services.eventstore.codec import encode
from services.eventstore.memory import InMemoryEventStore
from services.scheduler.app import handlers
from services.scheduler.app.listing import listed
from services.scheduler.app.schedules import Schedules
from services.scheduler.app.streams import contract_events, resource_stream, schedule_stream
from services.scheduler.domain.commands import ConfirmAiring, RescheduleAiring, ScheduleAiring
from services.scheduler.domain.errors import Conflict, Forbidden, InvalidCommand, UnknownResource

EA_TU = "loudspeaker:xa-ea-tu"
PLANNER = Principal(sub="Trung tâm Truyền thông Đắk Lắk", role="planner", province="dak-lak")
ELSEWHERE = Principal(sub="Trung tâm Truyền thông Điện Biên", role="planner", province="dien-bien")
OPERATOR = Principal(sub="Ông Y Khu Niê", role="operator", resources=frozenset({EA_TU}))
META = EventMetadata(actor="test")
START = datetime(2023, 8, 7, 10, 30, tzinfo=UTC)  # 17:30 in Đắk Lắk


def commune(province: str = "dak-lak") -> ResourceDescription:
    return ResourceDescription(
        type="commune", name="Xã Ea Tu", province=province, code="24406", languages=["Kinh", "Êđê"]
    )


def bulletin(starts_at: datetime = START, minutes: int = 15, **kw) -> ScheduleAiring:
    fields = dict(
        airing_id=uuid4(),
        resource_id=EA_TU,
        kind=AiringKind.loudspeaker,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        title="Bản tin BHYT học sinh, sinh viên",
        language="Êđê",
    )
    return ScheduleAiring(**(fields | kw))


async def given(*events_by_stream: tuple[str, list]) -> Schedules:
    store = InMemoryEventStore()
    for stream_id, events in events_by_stream:
        await store.append(stream_id, [encode(e, META) for e in events])
    return Schedules(store)


def registered(description: ResourceDescription | None = None) -> tuple[str, list]:
    return resource_stream(EA_TU), [
        ResourceDescribed(resource_id=EA_TU, description=description or commune())
    ]


async def then(schedules: Schedules, resource_id: str = EA_TU) -> list:
    return contract_events(await schedules.store.read_stream(schedule_stream(resource_id)))


async def test_scheduling_on_a_registered_commune_records_the_airing_and_answers_with_it():
    schedules = await given(registered())
    command = bulletin()
    recorded = await handlers.schedule_airing(schedules, PLANNER, command, META)
    [event] = recorded.events
    assert isinstance(event, AiringScheduled) and event.airing_id == command.airing_id
    assert await then(schedules) == [event]
    assert recorded.state.airings[command.airing_id].title == "Bản tin BHYT học sinh, sinh viên"
    assert recorded.position > 0


async def test_a_resource_nobody_registered_is_refused_and_nothing_is_recorded():
    schedules = await given()
    with pytest.raises(UnknownResource) as err:
        await handlers.schedule_airing(schedules, PLANNER, bulletin(), META)
    assert err.value.field == "resource_id"
    assert await then(schedules) == []


async def test_a_planner_plans_only_in_its_province():
    schedules = await given(registered())
    with pytest.raises(Forbidden, match="dien-bien"):
        await handlers.schedule_airing(schedules, ELSEWHERE, bulletin(), META)
    assert await then(schedules) == []


async def test_a_commune_airs_loudspeaker_bulletins_not_livestreams():
    schedules = await given(registered())
    with pytest.raises(InvalidCommand) as err:
        await handlers.schedule_airing(schedules, PLANNER, bulletin(kind=AiringKind.livestream), META)
    assert err.value.field == "kind"


async def test_an_overlap_is_refused_naming_the_airing_in_the_way_and_an_emergency_bumps_it():
    first = bulletin()
    schedules = await given(registered(), (schedule_stream(EA_TU), [AiringScheduled(**vars(first))]))
    with pytest.raises(Conflict) as err:
        await handlers.schedule_airing(schedules, PLANNER, bulletin(START + timedelta(minutes=5)), META)
    assert [a.airing_id for a in err.value.in_the_way] == [first.airing_id]
    storm = bulletin(START + timedelta(minutes=5), title="Tin khẩn: bão số 3", priority=Priority.emergency)
    recorded = await handlers.schedule_airing(schedules, PLANNER, storm, META)
    assert [type(e) for e in recorded.events] == [AiringBumped, AiringScheduled]
    assert recorded.events[0].airing_id == first.airing_id


async def test_a_retry_under_the_same_idempotency_key_records_nothing_new():
    schedules = await given(registered())
    command, keyed = bulletin(), EventMetadata(actor=PLANNER.sub, idempotency_key="sha256:abc")
    await handlers.schedule_airing(schedules, PLANNER, command, keyed)
    again = await handlers.schedule_airing(Schedules(schedules.store), PLANNER, command, keyed)
    assert again.events == [] and len(await then(schedules)) == 1


async def test_a_reschedule_without_an_end_keeps_the_length():
    first = bulletin(minutes=25)
    schedules = await given(registered(), (schedule_stream(EA_TU), [AiringScheduled(**vars(first))]))
    later = START + timedelta(hours=1)
    recorded = await handlers.plan_on(
        schedules, PLANNER, EA_TU, RescheduleAiring(first.airing_id, later, None), META
    )
    [moved] = recorded.events
    assert isinstance(moved, AiringRescheduled) and moved.ends_at - moved.starts_at == timedelta(minutes=25)


async def test_an_operator_confirms_on_its_commune_checked_on_the_stream_not_a_read_model():
    first = bulletin()
    schedules = await given(registered(), (schedule_stream(EA_TU), [AiringScheduled(**vars(first))]))
    now = START + timedelta(hours=2)

    def confirm(**kw) -> ConfirmAiring:
        return ConfirmAiring(airing_id=first.airing_id, outcome=Outcome.aired, operator=OPERATOR.sub,
                             confirmed_at=now, **kw)  # fmt: skip

    with pytest.raises(InvalidCommand) as err:  # the actual times are checked on the stream's airing
        await handlers.operate_on(
            schedules, OPERATOR, EA_TU, confirm(actual_start=START - timedelta(days=3)), META
        )
    assert err.value.field == "actual_start"
    stranger = Principal(sub="Xã khác", role="operator", resources=frozenset({"loudspeaker:xa-khac"}))
    with pytest.raises(Forbidden):
        await handlers.operate_on(schedules, stranger, EA_TU, confirm(), META)
    recorded = await handlers.operate_on(schedules, OPERATOR, EA_TU, confirm(), META)
    assert [type(e) for e in recorded.events] == [AiringConfirmed]
    assert recorded.state.airings[first.airing_id].status.value == "aired"


async def test_describing_a_resource_twice_records_it_once_and_says_whether_it_was_new():
    schedules = await given()
    first, created = await handlers.describe_resource(schedules.store, PLANNER, EA_TU, commune(), META)
    again, created_again = await handlers.describe_resource(schedules.store, PLANNER, EA_TU, commune(), META)
    assert (created, created_again) == (True, False)
    assert len(first.events) == 1 and again.events == []
    with pytest.raises(Forbidden):
        await handlers.describe_resource(schedules.store, ELSEWHERE, EA_TU, commune("dien-bien"), META)


async def test_a_schedule_remembered_but_changed_elsewhere_is_decided_again_on_the_stream():
    """Two replicas: the first remembers the schedule, the second changes it; the first's next
    command meets the change (expected version) and decides again, refusing on what is stored."""
    first = bulletin()
    schedules = await given(registered())
    other_replica = Schedules(schedules.store)
    await handlers.schedule_airing(schedules, PLANNER, first, META)
    overlapping = bulletin(START + timedelta(minutes=30))
    await handlers.schedule_airing(other_replica, PLANNER, overlapping, META)
    with pytest.raises(Conflict) as err:
        await handlers.schedule_airing(schedules, PLANNER, bulletin(START + timedelta(minutes=35)), META)
    assert [a.airing_id for a in err.value.in_the_way] == [overlapping.airing_id]
    # and a refusal decided on a remembered schedule is checked on the stream: none was in the way
    await handlers.plan_on(
        other_replica,
        PLANNER,
        EA_TU,
        RescheduleAiring(overlapping.airing_id, START + timedelta(hours=5), None),
        META,
    )
    recorded = await handlers.schedule_airing(
        schedules, PLANNER, bulletin(START + timedelta(minutes=35)), META
    )
    assert len(recorded.events) == 1
    assert len(await then(schedules)) == 4


class CountingStore(InMemoryEventStore):
    """The in-memory store, counting the reads a command makes before it appends."""

    reads = 0

    async def read_stream(self, *args, **kwargs):
        self.reads += 1
        return await super().read_stream(*args, **kwargs)


async def test_an_operator_confirming_moments_after_the_last_command_reads_nothing_before_appending():
    store = CountingStore()
    await store.append(resource_stream(EA_TU), [encode(e, META) for e in registered()[1]])
    schedules = Schedules(store)
    airings = [bulletin(START + timedelta(hours=h)) for h in (0, 1)]
    for a in airings:
        await handlers.schedule_airing(schedules, PLANNER, a, META)
    now = START + timedelta(hours=3)
    before = store.reads
    for a in airings:
        confirm = ConfirmAiring(
            airing_id=a.airing_id, outcome=Outcome.aired, operator=OPERATOR.sub, confirmed_at=now
        )
        await handlers.operable(schedules, OPERATOR, EA_TU)
        recorded = await handlers.operate_on(schedules, OPERATOR, EA_TU, confirm, META)
        assert [type(e) for e in recorded.events] == [AiringConfirmed]
    assert store.reads == before  # the schedule and the description, as decided moments ago
    assert [schedules.resource_of(a.airing_id) for a in airings] == [EA_TU, EA_TU]  # no read model asked
    assert schedules.resource_of(uuid4()) is None
    assert len(await then(schedules)) == 4


async def test_the_answer_lists_the_airing_as_the_events_leave_it():
    schedules = await given(registered())
    first, storm = bulletin(), bulletin(minutes=45, title="Khẩn cấp: bão số 3", priority=Priority.emergency)
    await handlers.schedule_airing(schedules, PLANNER, first, META)
    bumped = listed((await handlers.schedule_airing(schedules, PLANNER, storm, META)).state, first.airing_id)
    assert (bumped.status, bumped.reason, bumped.bumped_by, bumped.bumped_by_title) == (
        "bumped", "bumped by Khẩn cấp: bão số 3", storm.airing_id, "Khẩn cấp: bão số 3"
    )  # fmt: skip
    moved = RescheduleAiring(first.airing_id, START + timedelta(hours=2), None, "dời sau bão")
    view = listed((await handlers.plan_on(schedules, PLANNER, EA_TU, moved, META)).state, first.airing_id)
    assert (view.status, view.reason, view.bumped_by) == ("rescheduled", "dời sau bão", storm.airing_id)
    assert (view.starts_at.hour, view.ends_at.minute) == (19, 45)  # local time, its length kept
    assert listed(None, first.airing_id) is None and listed((await schedules.load(EA_TU))[0], uuid4()) is None
