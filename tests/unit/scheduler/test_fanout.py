"""Bulk fan-out to communes, and planning many airings on one schedule (all or nothing / skip)."""

from datetime import date, datetime, time, timedelta
from uuid import uuid4

import pytest
from dateutil.rrule import FR, MO, WE, WEEKLY, rrule

from contracts.events.reference import ResourceDescription, ResourceType
from contracts.events.schedule import AiringKind, AiringScheduled
from contracts.localtime import to_local, to_utc
from services.scheduler.domain.bulk import plan_all
from services.scheduler.domain.commands import ScheduleAiring
from services.scheduler.domain.errors import Conflict, InvalidCommand
from services.scheduler.domain.fanout import CommuneSystem, FanOut, airing_id, fan_out
from services.scheduler.domain.reference import check_kind, describe
from services.scheduler.domain.schedule import fold

WINDOWS = ((time(5, 30), time(6, 30)), (time(17, 0), time(18, 30)))
EA_TU = CommuneSystem("loudspeaker:ea-tu", ("Kinh", "Êđê"), WINDOWS)
KRONG_NO = CommuneSystem("loudspeaker:krong-no", ("Kinh", "Êđê", "M'nông"), WINDOWS)
TAN_AN = CommuneSystem("loudspeaker:tan-an", ("Kinh",), WINDOWS)
MON_WED_FRI_AUGUST = [
    d.date()
    for d in rrule(WEEKLY, byweekday=(MO, WE, FR), dtstart=datetime(2023, 8, 1), until=datetime(2023, 8, 31))
]


def bulletin(**kw) -> FanOut:
    fields = dict(
        plan_id=uuid4(),
        title="BHYT học sinh, sinh viên năm học 2023-2024",
        days=MON_WED_FRI_AUGUST,
        duration_minutes=15,
        window=1,
        gap_minutes=5,
    )
    return FanOut(**(fields | kw))


def test_each_commune_in_its_languages_one_after_another_in_its_window():
    plans, unplaceable = fan_out([EA_TU, KRONG_NO, TAN_AN], bulletin())
    assert unplaceable == []
    assert len(MON_WED_FRI_AUGUST) == 13
    assert {r: len(a) for r, a in plans.items()} == {
        "loudspeaker:ea-tu": 26,
        "loudspeaker:krong-no": 39,
        "loudspeaker:tan-an": 13,
    }
    first_day = [a for a in plans["loudspeaker:krong-no"] if to_local(a.starts_at).date() == date(2023, 8, 2)]
    assert [(a.language, f"{to_local(a.starts_at):%H:%M}") for a in first_day] == [
        ("Kinh", "17:00"),
        ("Êđê", "17:20"),
        ("M'nông", "17:40"),
    ]
    assert all(a.kind is AiringKind.loudspeaker and a.ends_at - a.starts_at == timedelta(minutes=15)
               for a in first_day)  # fmt: skip


def test_only_the_asked_languages_and_a_script_per_language():
    plans, _ = fan_out(
        [EA_TU, KRONG_NO, TAN_AN],
        bulletin(languages=("Êđê",), scripts={"Êđê": "Bản tin tiếng Êđê"}, script="Bản tin"),
    )
    assert set(plans) == {"loudspeaker:ea-tu", "loudspeaker:krong-no"}
    assert {a.script for airings in plans.values() for a in airings} == {"Bản tin tiếng Êđê"}


def test_stagger_shifts_communes_and_wraps_inside_the_window():
    # Evening window 90 min, one language of 15 min: room for starts 17:00 … 18:15.
    communes = [CommuneSystem(f"loudspeaker:xa-{i}", ("Kinh",), WINDOWS) for i in range(8)]
    plans, _ = fan_out(communes, bulletin(days=[date(2023, 8, 7)], stagger_minutes=15))
    starts = [f"{to_local(plans[c.resource_id][0].starts_at):%H:%M}" for c in communes]
    assert starts == ["17:00", "17:15", "17:30", "17:45", "18:00", "18:15", "17:00", "17:15"]


def test_a_window_too_short_or_missing_is_reported_not_planned():
    short = CommuneSystem("loudspeaker:ngan", ("Kinh", "Êđê", "M'nông"), ((time(5, 30), time(6, 0)),))
    plans, unplaceable = fan_out([short, TAN_AN], bulletin(window=0))
    assert set(plans) == {"loudspeaker:tan-an"}
    assert unplaceable[0].resource_id == "loudspeaker:ngan"
    assert "05:30-06:00" in unplaceable[0].reason
    _, unplaceable = fan_out([short], bulletin(window=1))
    assert "no window number 2" in unplaceable[0].reason


def test_a_fixed_start_and_a_month_for_129_communes_in_three_languages():
    communes = [
        CommuneSystem(f"loudspeaker:xa-{i:03}", ("Kinh", "Êđê", "M'nông"), WINDOWS) for i in range(129)
    ]
    plans, _ = fan_out(communes, bulletin(start=time(6, 0)))
    assert sum(len(a) for a in plans.values()) == 129 * 3 * 13 == 5031
    assert f"{to_local(plans['loudspeaker:xa-000'][0].starts_at):%H:%M}" == "06:00"


def test_ids_are_derived_so_the_same_plan_twice_is_the_same_airings():
    plan = bulletin()
    first, _ = fan_out([EA_TU], plan)
    again, _ = fan_out([EA_TU], plan)
    assert first == again
    assert first["loudspeaker:ea-tu"][0].airing_id == airing_id(
        plan.plan_id, "loudspeaker:ea-tu", date(2023, 8, 2), "Kinh"
    )


def test_a_plan_without_days_or_length_is_refused():
    with pytest.raises(InvalidCommand) as refused:
        fan_out([EA_TU], bulletin(days=[]))
    assert refused.value.field == "days"


def _airing(start_hh_mm, minutes=15, title="Bản tin"):
    starts = to_utc(datetime(2023, 8, 7, *start_hh_mm))
    return ScheduleAiring(
        airing_id=uuid4(),
        resource_id=EA_TU.resource_id,
        kind=AiringKind.loudspeaker,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=minutes),
        title=title,
    )


def test_plan_all_is_all_or_nothing_unless_asked_to_skip():
    taken = _airing((17, 10), title="Thông báo tiêm chủng")
    state = fold([AiringScheduled(**{k: v for k, v in vars(taken).items() if k != "recurrence_id"})])
    wanted = [
        _airing((17, 0)),
        _airing((17, 30)),
        _airing((17, 40)),
    ]  # the 1st hits the taken one, 3rd the 2nd
    with pytest.raises(Conflict) as refused:
        plan_all(state, wanted, skip_conflicts=False)
    assert refused.value.in_the_way[0].airing_id == taken.airing_id
    plan = plan_all(state, wanted, skip_conflicts=True)
    assert [e.airing_id for e in plan.events] == [wanted[1].airing_id]
    assert [s.airing for s in plan.skipped] == [wanted[0], wanted[2]]
    assert plan.skipped[1].conflict.in_the_way[0].airing_id == wanted[1].airing_id


def test_describing_a_resource_again_is_a_no_op_and_its_type_is_fixed():
    commune = ResourceDescription(
        type=ResourceType.commune, name="Xã Ea Tu", province="dak-lak", languages=["Kinh", "Êđê"]
    )
    [described] = describe([], "loudspeaker:ea-tu", commune)
    assert describe([described], "loudspeaker:ea-tu", commune) == []
    page = ResourceDescription(
        type=ResourceType.page, name="Fanpage", province="dak-lak", platform="facebook"
    )
    with pytest.raises(InvalidCommand) as refused:
        describe([described], "loudspeaker:ea-tu", page)
    assert refused.value.field == "type"
    with pytest.raises(InvalidCommand) as refused:
        check_kind("loudspeaker:ea-tu", ResourceType.commune, AiringKind.radio)
    assert "airs loudspeaker" in refused.value.reason
