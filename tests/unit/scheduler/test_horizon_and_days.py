"""The horizon rule and the fan-out's days: pure, no clock (the caller gives ``now``)."""

from datetime import UTC, date, datetime

import pytest

from services.scheduler.domain.errors import InvalidCommand
from services.scheduler.domain.fanout_days import MAX_DAYS, days_of
from services.scheduler.domain.horizon import horizon, local_minute, wall_clock


def test_the_horizon_ends_at_local_midnight_after_the_last_day():
    # 23:30 UTC on 31 December is already 1 January in Vietnam (UTC+7).
    now = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert horizon(2, now) == datetime(2026, 1, 3, 17, 0, tzinfo=UTC)


def test_wall_clock_is_naive_vietnam_time():
    assert wall_clock(datetime(2025, 1, 6, 14, 0, tzinfo=UTC)) == datetime(2025, 1, 6, 21, 0)
    assert local_minute(datetime(2025, 1, 6, 14, 0, 42, 5, tzinfo=UTC)) == datetime(2025, 1, 6, 21, 0)


def test_fan_out_days_from_a_rule_are_local_days_in_order():
    days = days_of(None, "FREQ=WEEKLY;BYDAY=MO,WE,FR", date(2023, 8, 1), date(2023, 8, 10))
    assert days == [date(2023, 8, 2), date(2023, 8, 4), date(2023, 8, 7), date(2023, 8, 9)]
    assert days_of([date(2023, 8, 9), date(2023, 8, 2), date(2023, 8, 9)], None, None, None) == [
        date(2023, 8, 2),
        date(2023, 8, 9),
    ]


def test_fan_out_refuses_more_than_400_days_and_bad_rules_naming_the_rule():
    with pytest.raises(InvalidCommand) as err:
        days_of(None, "FREQ=DAILY", date(2023, 1, 1), date(2025, 1, 1))
    assert err.value.field == "rule" and f"more than {MAX_DAYS}" in err.value.reason
    with pytest.raises(InvalidCommand) as err:
        days_of(None, "FREQ=SOMETIMES", date(2023, 1, 1), date(2023, 2, 1))
    assert err.value.field == "rule"
