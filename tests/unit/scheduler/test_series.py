"""Series on a schedule: planning, the horizon, "this airing", "this and following", the whole series, end."""

from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from contracts.events.schedule import (
    AiringCancelled,
    AiringContentChanged,
    AiringKind,
    AiringScheduled,
    Priority,
)
from contracts.events.series import (
    SeriesDefinition,
    SeriesEnded,
    SeriesExtended,
    SeriesPlanned,
    SeriesRevised,
)
from contracts.localtime import to_utc
from services.scheduler.domain.commands import (
    CancelAiring,
    EndSeries,
    ExtendSeries,
    PlanSeries,
    RescheduleAiring,
    ReviseSeries,
    ReviseWholeSeries,
    ScheduleAiring,
)
from services.scheduler.domain.errors import Conflict, InvalidCommand, InvalidTransition
from services.scheduler.domain.schedule import Status, decide, evolve, fold
from services.scheduler.domain.series import occurrence_id

GIO_THU_9 = "radio:vov-dak-lak:gio-thu-9"
SERIES = uuid4()
WEEKDAYS_AT_NINE = SeriesDefinition(
    rule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    first_start=datetime(2023, 8, 1, 21, 0),
    duration_minutes=15,
    title="Giờ thứ 9 — Câu chuyện chính sách",
    topic="BHXH tự nguyện",
    language="Kinh",
)
SEPTEMBER = to_utc(datetime(2023, 9, 1))


def plan(definition=WEEKDAYS_AT_NINE, through=SEPTEMBER, **kw) -> PlanSeries:
    fields = dict(
        series_id=SERIES, resource_id=GIO_THU_9, kind=AiringKind.radio, definition=definition, through=through
    )
    return PlanSeries(**(fields | kw))


def run(state, command):
    events = decide(state, command)
    return fold(events, state), events


def scheduled(events):
    return [e for e in events if isinstance(e, AiringScheduled)]


def test_planning_a_series_schedules_its_airings_up_to_the_horizon():
    state, events = run(fold([]), plan())
    assert isinstance(events[0], SeriesPlanned)
    airings = scheduled(events)
    assert len(airings) == 23  # the weekdays of August 2023
    assert airings[0].recurrence_id == datetime(2023, 8, 1, 21, 0)
    assert airings[0].starts_at == to_utc(datetime(2023, 8, 1, 21, 0))
    assert {a.series_id for a in airings} == {SERIES}
    assert events[-1] == SeriesExtended(series_id=SERIES, resource_id=GIO_THU_9, through=SEPTEMBER)
    assert state.series[SERIES].through == SEPTEMBER


def test_planning_again_is_a_no_op_and_other_details_are_refused():
    state, _ = run(fold([]), plan())
    assert decide(state, plan()) == []
    other = WEEKDAYS_AT_NINE.model_copy(update={"title": "Khác"})
    with pytest.raises(InvalidTransition):
        decide(state, plan(other))


def test_the_horizon_moves_forward_without_duplicates():
    state, _ = run(fold([]), plan())
    state, events = run(state, ExtendSeries(SERIES, to_utc(datetime(2023, 9, 8))))
    assert [a.recurrence_id.day for a in scheduled(events)] == [1, 4, 5, 6, 7]
    assert decide(state, ExtendSeries(SERIES, to_utc(datetime(2023, 9, 8)))) == []
    assert decide(state, ExtendSeries(SERIES, to_utc(datetime(2023, 9, 2)))) == []


def test_extending_skips_occurrences_in_the_way_and_says_which():
    state, _ = run(fold([]), plan())
    special = ScheduleAiring(
        airing_id=uuid4(),
        resource_id=GIO_THU_9,
        kind=AiringKind.radio,
        starts_at=to_utc(datetime(2023, 9, 4, 20, 50)),
        ends_at=to_utc(datetime(2023, 9, 4, 21, 30)),
        title="Tọa đàm Luật BHXH 2024",
        priority=Priority.priority,
    )
    state, _ = run(state, special)
    state, events = run(state, ExtendSeries(SERIES, to_utc(datetime(2023, 9, 8))))
    assert [a.recurrence_id.day for a in scheduled(events)] == [1, 5, 6, 7]
    [skipped] = events[-1].skipped
    assert skipped.recurrence_id == datetime(2023, 9, 4, 21, 0)
    assert skipped.conflicts == [special.airing_id]


def test_a_series_in_the_way_is_refused_whole_unless_conflicts_are_skipped():
    special = ScheduleAiring(
        airing_id=uuid4(),
        resource_id=GIO_THU_9,
        kind=AiringKind.radio,
        starts_at=to_utc(datetime(2023, 8, 15, 21, 5)),
        ends_at=to_utc(datetime(2023, 8, 15, 21, 20)),
        title="Bản tin đặc biệt",
    )
    state, _ = run(fold([]), special)
    with pytest.raises(Conflict) as refused:
        decide(state, plan())
    assert refused.value.in_the_way[0].airing_id == special.airing_id
    _, events = run(state, plan(skip_conflicts=True))
    assert len(scheduled(events)) == 22
    assert [s.recurrence_id.day for s in events[-1].skipped] == [15]


def test_exdates_rdates_and_count():
    definition = WEEKDAYS_AT_NINE.model_copy(
        update={
            "rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=5",
            "exdates": [datetime(2023, 8, 2, 21, 0)],
            "rdates": [datetime(2023, 8, 12, 9, 0)],  # a Saturday morning rerun
        }
    )
    _, events = run(fold([]), plan(definition))
    assert [a.recurrence_id for a in scheduled(events)] == [
        datetime(2023, 8, 1, 21, 0),
        datetime(2023, 8, 3, 21, 0),
        datetime(2023, 8, 4, 21, 0),
        datetime(2023, 8, 7, 21, 0),
        datetime(2023, 8, 12, 9, 0),
    ]


def test_this_airing_moved_or_cancelled_is_not_recreated_by_the_horizon():
    state, _ = run(fold([]), plan(through=to_utc(datetime(2023, 8, 8))))
    tuesday = occurrence_id(SERIES, datetime(2023, 8, 1, 21, 0))
    friday = occurrence_id(SERIES, datetime(2023, 8, 4, 21, 0))
    state, _ = run(state, CancelAiring(tuesday, "ngày lễ"))
    later = to_utc(datetime(2023, 8, 4, 21, 30))
    state, _ = run(state, RescheduleAiring(friday, later, later + timedelta(minutes=15)))
    state, events = run(state, ExtendSeries(SERIES, SEPTEMBER))
    assert tuesday not in {a.airing_id for a in scheduled(events)}
    assert friday not in {a.airing_id for a in scheduled(events)}
    assert state.airings[tuesday].status is Status.cancelled
    assert state.airings[friday].status is Status.rescheduled


def test_this_and_following_moves_the_later_occurrences_and_keeps_the_earlier():
    state, _ = run(fold([]), plan())
    from_21st = datetime(2023, 8, 21, 21, 0)
    later = WEEKDAYS_AT_NINE.model_copy(update={"first_start": datetime(2023, 8, 21, 21, 15)})
    state, events = run(state, ReviseSeries(SERIES, from_21st, later))
    assert isinstance(events[0], SeriesRevised)
    cancelled = [e for e in events if isinstance(e, AiringCancelled)]
    new = scheduled(events)
    assert len(cancelled) == len(new) == 9  # 21st … 31st
    assert {a.recurrence_id.time().isoformat() for a in new} == {"21:15:00"}
    earlier = state.airings[occurrence_id(SERIES, datetime(2023, 8, 18, 21, 0))]
    assert earlier.status is Status.scheduled
    # …and the horizon carries on with the revised rule.
    state, events = run(state, ExtendSeries(SERIES, to_utc(datetime(2023, 9, 5))))
    assert [a.recurrence_id for a in scheduled(events)] == [
        datetime(2023, 9, 1, 21, 15),
        datetime(2023, 9, 4, 21, 15),
    ]


def test_a_revision_keeps_unchanged_occurrences_and_those_moved_by_hand():
    state, _ = run(fold([]), plan())
    moved = occurrence_id(SERIES, datetime(2023, 8, 22, 21, 0))
    later = to_utc(datetime(2023, 8, 22, 22, 0))
    state, _ = run(state, RescheduleAiring(moved, later, later + timedelta(minutes=15)))
    # The whole series from the 21st: a holiday is left out, nothing else changes.
    holiday = WEEKDAYS_AT_NINE.model_copy(update={"exdates": [datetime(2023, 8, 31, 21, 0)]})
    state, events = run(state, ReviseSeries(SERIES, datetime(2023, 8, 21, 21, 0), holiday))
    assert [type(e) for e in events] == [SeriesRevised, AiringCancelled]
    assert events[1].airing_id == occurrence_id(SERIES, datetime(2023, 8, 31, 21, 0))
    assert state.airings[moved].status is Status.rescheduled
    assert decide(state, ReviseSeries(SERIES, datetime(2023, 8, 21, 21, 0), holiday)) == []


def test_a_changed_title_reaches_the_occurrences_in_place_under_their_ids():
    state, _ = run(fold([]), plan())
    renamed = WEEKDAYS_AT_NINE.model_copy(update={"title": "Giờ thứ 9 — Luật BHXH năm 2024"})
    state, events = run(state, ReviseSeries(SERIES, datetime(2023, 8, 28, 21, 0), renamed))
    assert scheduled(events) == []
    assert not any(isinstance(e, AiringCancelled) for e in events)
    changed = [e for e in events if isinstance(e, AiringContentChanged)]
    days = [28, 29, 30, 31]
    ids = [occurrence_id(SERIES, datetime(2023, 8, d, 21, 0)) for d in days]
    assert [e.airing_id for e in changed] == ids
    for d in days:
        airing = state.airings[state.series[SERIES].occurrences[datetime(2023, 8, d, 21, 0)]]
        assert airing.airing_id == occurrence_id(SERIES, datetime(2023, 8, d, 21, 0))
        assert (airing.status, airing.scheduled.title) == (Status.scheduled, "Giờ thứ 9 — Luật BHXH năm 2024")
    before = state.airings[occurrence_id(SERIES, datetime(2023, 8, 25, 21, 0))]
    assert before.scheduled.title == WEEKDAYS_AT_NINE.title  # history keeps its title
    assert decide(state, ReviseSeries(SERIES, datetime(2023, 8, 28, 21, 0), renamed)) == []


def test_ending_a_series_cancels_what_is_still_to_come():
    state, _ = run(fold([]), plan())
    state, events = run(state, EndSeries(SERIES, datetime(2023, 8, 29, 0, 0), "hết chiến dịch"))
    assert isinstance(events[0], SeriesEnded)
    assert [e.airing_id for e in events[1:]] == [
        occurrence_id(SERIES, datetime(2023, 8, d, 21, 0)) for d in (29, 30, 31)
    ]
    assert decide(state, EndSeries(SERIES, datetime(2023, 8, 30, 0, 0))) == []
    assert scheduled(decide(state, ExtendSeries(SERIES, to_utc(datetime(2023, 9, 30))))) == []


def test_a_rule_without_end_from_long_ago_is_refused():
    ancient = WEEKDAYS_AT_NINE.model_copy(update={"rule": "FREQ=HOURLY", "first_start": datetime(2020, 1, 1)})
    with pytest.raises(InvalidCommand) as refused:
        decide(fold([]), plan(ancient))
    assert refused.value.field == "rule"


def test_a_bad_rule_or_zone_names_the_field():
    with pytest.raises(InvalidCommand) as refused:
        decide(fold([]), plan(WEEKDAYS_AT_NINE.model_copy(update={"rule": "FREQ=SOMETIMES"})))
    assert refused.value.field == "rule"
    with pytest.raises(InvalidCommand) as refused:
        decide(fold([]), plan(WEEKDAYS_AT_NINE.model_copy(update={"zone": "Asia/Nowhere"})))
    assert refused.value.field == "zone"


def test_evolve_is_a_pure_fold():
    state = fold([])
    events = decide(state, plan(through=to_utc(datetime(2023, 8, 3))))
    assert fold(events) == fold(events)
    assert evolve(state, events[0]) is not state
    assert state.series == {}


def test_the_whole_series_changes_every_revision_from_now_on_and_keeps_their_rules():
    state, _ = run(fold([]), plan())
    later = WEEKDAYS_AT_NINE.model_copy(update={"first_start": datetime(2023, 8, 21, 21, 15)})
    state, _ = run(state, ReviseSeries(SERIES, datetime(2023, 8, 21, 21, 0), later))
    renamed = {"title": "Giờ thứ 9 — Luật BHXH năm 2024"}
    state, events = run(state, ReviseWholeSeries(SERIES, datetime(2023, 8, 14, 12, 0), renamed))
    assert scheduled(events) == []  # in place, under their ids: no airing cancelled and planned again
    changed = [state.airings[e.airing_id] for e in events if isinstance(e, AiringContentChanged)]
    assert [f"{a.scheduled.recurrence_id:%d %H:%M}" for a in changed][:6] == [
        "14 21:00", "15 21:00", "16 21:00", "17 21:00", "18 21:00", "21 21:15",
    ]  # fmt: skip
    assert len(changed) == 14 and {a.scheduled.title for a in changed} == {renamed["title"]}
    assert {a.status for a in changed} == {Status.scheduled}
    assert (
        state.airings[occurrence_id(SERIES, datetime(2023, 8, 11, 21, 0))].scheduled.title
        == WEEKDAYS_AT_NINE.title
    )
    assert decide(state, ReviseWholeSeries(SERIES, datetime(2023, 8, 15, 12, 0), renamed)) == []
    with pytest.raises(InvalidCommand) as refused:
        decide(state, ReviseWholeSeries(SERIES, datetime(2023, 8, 15, 12, 0), {"duration_minutes": 0}))
    assert refused.value.field == "duration_minutes"


# -- "this and following" by RFC 5545's model: the split keeps every choice after it ------------------

THROUGH = to_utc(datetime(2027, 1, 16))
LOA_EA_TU = "loudspeaker:xa-ea-tu"


def live_starts(state) -> set[datetime]:
    """The local starts of the series' airings that will air (scheduled, or moved by hand)."""
    from contracts.localtime import to_local

    return {
        to_local(a.starts_at).replace(tzinfo=None)
        for a in state.airings.values()
        if a.scheduled.series_id == SERIES and a.status in (Status.scheduled, Status.rescheduled)
    }


def expected(*parts, minus=(), plus=()) -> set[datetime]:
    """The occurrences dateutil gives for each (rule, dtstart, until) part, minus and plus some."""
    from dateutil.rrule import rrulestr

    out: set[datetime] = set()
    for rule, dtstart, until in parts:
        out |= {d for d in rrulestr(rule, dtstart=dtstart).between(dtstart, until, inc=True) if d < until}
    return (out - set(minus)) | set(plus)


def planned(definition: SeriesDefinition):
    state, _ = run(
        fold([]), plan(definition, through=THROUGH, resource_id=LOA_EA_TU, kind=AiringKind.loudspeaker)
    )
    return state


def test_this_and_following_earlier_keeps_the_day_the_exdates_and_the_planners_choices():
    daily = SeriesDefinition(rule="FREQ=DAILY", first_start=datetime(2026, 12, 1, 6, 0), duration_minutes=15,
                             title="Bản tin sáng", language="Kinh",
                             exdates=[datetime(2026, 12, 25, 6, 0), datetime(2027, 1, 1, 6, 0)])  # fmt: skip
    state = planned(daily)
    by_hand = occurrence_id(SERIES, datetime(2026, 12, 20, 6, 0))
    moved = occurrence_id(SERIES, datetime(2026, 12, 22, 6, 0))
    state, _ = run(state, CancelAiring(by_hand, "họp dân"))
    evening = to_utc(datetime(2026, 12, 22, 19, 0))
    state, _ = run(state, RescheduleAiring(moved, evening, evening + timedelta(minutes=15)))
    # 06:00 → 05:30 from 14/12 (the HTTP layer merges the series' exdates into the new definition).
    earlier = daily.model_copy(update={"first_start": datetime(2026, 12, 14, 5, 30)})
    state, _ = run(state, ReviseSeries(SERIES, datetime(2026, 12, 14, 6, 0), earlier))
    split = datetime(2026, 12, 14, 5, 30)
    assert live_starts(state) == expected(
        ("FREQ=DAILY", datetime(2026, 12, 1, 6, 0), split),
        ("FREQ=DAILY", split, datetime(2027, 1, 16)),
        minus=[datetime(2026, 12, d, 5, 30) for d in (20, 22, 25)] + [datetime(2027, 1, 1, 5, 30)],
        plus=[datetime(2026, 12, 22, 19, 0)],
    )
    assert datetime(2026, 12, 14, 5, 30) in live_starts(state)  # the day of the split keeps its airing
    assert (
        state.airings[moved].status is Status.rescheduled
        and state.airings[by_hand].status is Status.cancelled
    )
    # The same revision again records nothing; the horizon carries on without bringing anything back.
    assert decide(state, ReviseSeries(SERIES, datetime(2026, 12, 14, 6, 0), earlier)) == []
    state, more = run(state, ExtendSeries(SERIES, to_utc(datetime(2027, 1, 20))))
    assert [a.recurrence_id for a in scheduled(more)] == [
        datetime(2027, 1, d, 5, 30) for d in (16, 17, 18, 19)
    ]


def test_this_and_following_from_the_first_occurrence_earlier_keeps_that_day():
    # Found driving the API: 06:00 -> 05:30 named at the series' very first occurrence lost that day.
    weekly = SeriesDefinition(rule="FREQ=WEEKLY;BYDAY=WE", first_start=datetime(2027, 1, 6, 6, 0),
                              duration_minutes=15, title="Thử thứ Tư", language="Kinh")  # fmt: skip
    state = planned(weekly)
    earlier = weekly.model_copy(update={"first_start": datetime(2027, 1, 6, 5, 30), "title": "Thứ Tư 5h30"})
    state, _ = run(state, ReviseSeries(SERIES, datetime(2027, 1, 6, 6, 0), earlier))
    assert live_starts(state) == {datetime(2027, 1, d, 5, 30) for d in (6, 13)}
    # Later is the same move the other way; a first_start re-anchored before an earlier occurrence
    # (the series' own date, a new time) is no move of the named occurrence.
    state = planned(weekly)
    later = weekly.model_copy(update={"first_start": datetime(2027, 1, 6, 6, 30)})
    state, _ = run(state, ReviseSeries(SERIES, datetime(2027, 1, 6, 6, 0), later))
    assert live_starts(state) == {datetime(2027, 1, d, 6, 30) for d in (6, 13)}
    state = planned(weekly)
    anchored = weekly.model_copy(update={"first_start": datetime(2027, 1, 1, 7, 0)})
    state, _ = run(state, ReviseSeries(SERIES, datetime(2027, 1, 13, 6, 0), anchored))
    assert live_starts(state) == {datetime(2027, 1, 6, 6, 0), datetime(2027, 1, 13, 7, 0)}


@pytest.mark.parametrize(
    ("old_rule", "old_start", "named", "new_rule", "new_start"),
    [
        # later, across a week boundary: Fridays 18:00 → Mondays 18:30 from Friday 18/12
        ("FREQ=WEEKLY;BYDAY=FR", datetime(2026, 12, 4, 18, 0), datetime(2026, 12, 18, 18, 0),
         "FREQ=WEEKLY;BYDAY=MO", datetime(2026, 12, 21, 18, 30)),
        # earlier, across a week boundary: Mondays 18:00 → Fridays 17:00 from Monday 21/12
        ("FREQ=WEEKLY;BYDAY=MO", datetime(2026, 12, 7, 18, 0), datetime(2026, 12, 21, 18, 0),
         "FREQ=WEEKLY;BYDAY=FR", datetime(2026, 12, 18, 17, 0)),
    ],
)  # fmt: skip
def test_this_and_following_across_a_week_boundary_agrees_with_dateutil(
    old_rule, old_start, named, new_rule, new_start
):
    delta = new_start - named
    holiday = named + timedelta(weeks=1)
    weekly = SeriesDefinition(rule=old_rule, first_start=old_start, duration_minutes=20, title="Bản tin tuần",
                              language="Êđê", exdates=[holiday])  # fmt: skip
    state = planned(weekly)
    by_hand = named + timedelta(weeks=2)
    state, _ = run(state, CancelAiring(occurrence_id(SERIES, by_hand), "mất điện"))
    revised = weekly.model_copy(update={"rule": new_rule, "first_start": new_start})
    state, _ = run(state, ReviseSeries(SERIES, named, revised))
    split = min(named, new_start)
    assert live_starts(state) == expected(
        (old_rule, old_start, split),
        (new_rule, new_start, datetime(2027, 1, 16)),
        minus=[holiday + delta, by_hand + delta],
    )
    exdates = state.series[SERIES].current.definition.exdates
    assert holiday + delta in exdates and by_hand + delta in exdates and holiday not in exdates


def test_the_whole_series_title_reaches_the_occurrence_moved_by_hand_where_it_stands():
    state, _ = run(fold([]), plan())
    moved = occurrence_id(SERIES, datetime(2023, 8, 22, 21, 0))
    later = to_utc(datetime(2023, 8, 22, 22, 0))
    state, _ = run(state, RescheduleAiring(moved, later, later + timedelta(minutes=15)))
    renamed = {"title": "Giờ thứ 9 — Luật BHXH năm 2024", "script": "Kính thưa quý thính giả …"}
    state, events = run(state, ReviseWholeSeries(SERIES, datetime(2023, 8, 14, 12, 0), renamed))
    [changed] = [e for e in events if isinstance(e, AiringContentChanged) and e.airing_id == moved]
    assert (changed.title, changed.script) == (renamed["title"], renamed["script"])
    assert moved not in {e.airing_id for e in events if isinstance(e, AiringCancelled)}
    airing = state.airings[moved]
    assert (airing.status, airing.starts_at, airing.title) == (Status.rescheduled, later, renamed["title"])
    assert decide(state, ReviseWholeSeries(SERIES, datetime(2023, 8, 15, 12, 0), renamed)) == []
