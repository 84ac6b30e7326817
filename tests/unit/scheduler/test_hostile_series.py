"""Series with hostile rules: refused when planned, skipped (not hung on) when already stored."""

import time
from datetime import datetime
from uuid import uuid4

import pytest

from contracts.events.schedule import AiringKind
from contracts.events.series import SeriesDefinition, SeriesPlanned
from contracts.localtime import to_utc
from services.scheduler.domain.commands import ExtendSeries, PlanSeries
from services.scheduler.domain.errors import InvalidCommand
from services.scheduler.domain.schedule import decide, fold

GIO_THU_9 = "radio:vov-dak-lak:gio-thu-9"
BUDGET = 0.1  # CPU seconds per refusal (the target); a runaway rule took minutes
# CPU time, not wall time: a shared CI machine under load stretches the wall clock, not the work done.
HORIZON = to_utc(datetime(2027, 2, 1))
RUNAWAYS = [
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=DAILY;COUNT=-1",
    "FREQ=DAILY;COUNT=5;UNTIL=20270101",
    "FREQ=SECONDLY",
    "FREQ=HOURLY",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))),  # 24 a day from 2000: more than the cap
]


def definition(rule, first_start=datetime(2026, 12, 1, 21, 0)):
    return SeriesDefinition(rule=rule, first_start=first_start, duration_minutes=15, title="Giờ thứ 9")


def refused_in_time(state, command):
    started = time.process_time()
    with pytest.raises(InvalidCommand) as refusal:
        decide(state, command)
    elapsed = time.process_time() - started
    assert elapsed < BUDGET, f"refused after {elapsed:.3f} s"
    return refusal.value


@pytest.mark.parametrize("rule", RUNAWAYS)
def test_planning_a_runaway_rule_is_refused_naming_the_rule(rule):
    first_start = datetime(2000, 1, 1, 0, 0) if "BYHOUR" in rule else datetime(2026, 12, 1, 21, 0)
    command = PlanSeries(
        series_id=uuid4(),
        resource_id=GIO_THU_9,
        kind=AiringKind.radio,
        definition=definition(rule, first_start),
        through=HORIZON,
    )
    refusal = refused_in_time(fold([]), command)
    assert refusal.field == "rule"


def test_a_first_start_in_year_one_is_refused_on_first_start():
    command = PlanSeries(
        series_id=uuid4(),
        resource_id=GIO_THU_9,
        kind=AiringKind.radio,
        definition=definition("FREQ=DAILY", datetime(1, 1, 1, 21, 0)),
        through=HORIZON,
    )
    assert refused_in_time(fold([]), command).field == "first_start"


@pytest.mark.parametrize("rule", RUNAWAYS)
def test_a_stored_series_with_a_runaway_rule_is_refused_by_the_horizon_not_hung_on(rule):
    # Stored before the rules were checked: the keeper gets a refusal it logs and moves on.
    series_id = uuid4()
    first_start = datetime(2000, 1, 1, 0, 0) if "BYHOUR" in rule else datetime(2026, 12, 1, 21, 0)
    stored = SeriesPlanned(
        series_id=series_id,
        resource_id=GIO_THU_9,
        kind=AiringKind.radio,
        definition=definition(rule, first_start),
    )
    state, extend = fold([stored]), ExtendSeries(series_id, HORIZON)
    if "BYMONTHDAY=30" in rule:
        # A rule that never occurs is harmless once stored: the walk ends at the horizon's year
        # and the horizon moves on, so it is not walked again at the next fill.
        started = time.process_time()
        events = decide(state, extend)
        assert time.process_time() - started < BUDGET
        assert [type(e).__name__ for e in events] == ["SeriesExtended"]
    else:
        refused_in_time(state, extend)
