"""Series expansion: RFC 5545 rules in local time, stored in UTC."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.localtime import NonexistentLocalTime, to_local, to_utc
from services.scheduler.domain.recurrence import InvalidRecurrence, Recurrence

AUGUST = (to_utc(datetime(2023, 8, 1)), to_utc(datetime(2023, 9, 1)))  # the local month
LONDON = ZoneInfo("Europe/London")


def starts(recurrence, window=AUGUST):
    return [o.local_start for o in recurrence.between(*window)]


def test_mon_wed_fri_at_half_past_five_for_august_2023():
    bulletin = Recurrence("FREQ=WEEKLY;BYDAY=MO,WE,FR", datetime(2023, 8, 2, 17, 30), timedelta(minutes=15))
    got = bulletin.between(*AUGUST)
    assert len(got) == 13  # Wed Aug 2 … Wed Aug 30, three a week
    assert got[0].starts_at == datetime(2023, 8, 2, 10, 30, tzinfo=UTC)
    assert got[0].ends_at - got[0].starts_at == timedelta(minutes=15)
    assert {o.local_start.strftime("%a") for o in got} == {"Mon", "Wed", "Fri"}


def test_gio_thu_9_weekdays_at_nine_pm():
    gio_thu_9 = Recurrence(
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", datetime(2023, 8, 1, 21, 0), timedelta(minutes=15)
    )
    assert len(gio_thu_9.between(*AUGUST)) == 23


def test_every_second_week_and_nth_weekdays_of_the_month():
    fortnightly = Recurrence(
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", datetime(2023, 8, 1, 9, 0), timedelta(hours=1)
    )
    assert [d.day for d in starts(fortnightly)] == [1, 15, 29]
    second_friday = Recurrence("FREQ=MONTHLY;BYDAY=+2FR", datetime(2023, 1, 13, 20, 0), timedelta(hours=1))
    assert [d.day for d in starts(second_friday)] == [11]
    last_tuesday = Recurrence("FREQ=MONTHLY;BYDAY=-1TU", datetime(2023, 1, 31, 20, 0), timedelta(hours=1))
    assert [d.day for d in starts(last_tuesday)] == [29]


def test_month_ends_skip_short_months():
    on_the_31st = Recurrence("FREQ=MONTHLY;BYMONTHDAY=31", datetime(2023, 1, 31, 8, 0), timedelta(minutes=30))
    year = (datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
    assert [d.month for d in starts(on_the_31st, year)] == [1, 3, 5, 7, 8, 10, 12]
    last_day = Recurrence("FREQ=MONTHLY;BYMONTHDAY=-1", datetime(2023, 1, 31, 8, 0), timedelta(minutes=30))
    assert [d.day for d in starts(last_day, year)][:3] == [31, 28, 31]


def test_count_and_until_bound_a_series():
    counted = Recurrence("FREQ=DAILY;COUNT=3", datetime(2023, 8, 30, 5, 30), timedelta(minutes=20))
    assert len(counted.between(*AUGUST)) == 2  # Aug 30, 31 in August; the third is in September
    until = Recurrence(
        "FREQ=DAILY;UNTIL=20230804T000000Z", datetime(2023, 8, 1, 5, 30), timedelta(minutes=20)
    )
    assert [d.day for d in starts(until)] == [1, 2, 3, 4]


def test_a_floating_until_is_the_local_day_or_time_the_planner_means():
    weekdays = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    through_the_24th = Recurrence(
        f"{weekdays};UNTIL=20230824", datetime(2023, 8, 1, 21, 0), timedelta(minutes=15)
    )
    assert starts(through_the_24th)[-1] == datetime(2023, 8, 24, 21, 0)  # 14:00 UTC, inside the local day
    before_nine = Recurrence(
        f"{weekdays};UNTIL=20230824T205959", datetime(2023, 8, 1, 21, 0), timedelta(minutes=15)
    )
    assert starts(before_nine)[-1] == datetime(2023, 8, 23, 21, 0)
    with pytest.raises(InvalidRecurrence, match="UNTIL=2023-08-24"):
        Recurrence(f"{weekdays};UNTIL=2023-08-24", datetime(2023, 8, 1, 21, 0), timedelta(minutes=15))


def test_exdates_remove_and_rdates_add_occurrences():
    bulletin = Recurrence(
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        datetime(2023, 8, 2, 17, 30),
        timedelta(minutes=15),
        exdates=frozenset({datetime(2023, 8, 4, 17, 30)}),
        rdates=frozenset({datetime(2023, 8, 5, 8, 0)}),
    )
    days = [d.day for d in starts(bulletin)]
    assert 4 not in days and 5 in days
    assert len(days) == 13


def test_this_and_following_cuts_the_series_before_the_chosen_occurrence():
    bulletin = Recurrence(
        "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=12", datetime(2023, 8, 2, 17, 30), timedelta(minutes=15)
    )
    first_part = bulletin.until_before(datetime(2023, 8, 14, 17, 30))
    assert [d.day for d in starts(first_part)] == [2, 4, 7, 9, 11]
    assert "COUNT" not in first_part.rule


def test_wall_clock_stays_put_across_a_dst_change_in_london():
    weekly = Recurrence("FREQ=WEEKLY;BYDAY=MO", datetime(2024, 3, 18, 9, 0), timedelta(hours=1), zone=LONDON)
    got = weekly.between(datetime(2024, 3, 18, tzinfo=UTC), datetime(2024, 4, 9, tzinfo=UTC))
    assert [o.local_start.hour for o in got] == [9, 9, 9, 9]
    # GMT before the last Sunday of March, BST (UTC+1) after it.
    assert [o.starts_at.hour for o in got] == [9, 9, 8, 8]


def test_local_times_in_a_dst_gap_are_refused_and_vietnam_has_none():
    with pytest.raises(NonexistentLocalTime):
        to_utc(datetime(2024, 3, 31, 1, 30), LONDON)
    assert to_utc(datetime(2024, 10, 27, 1, 30), LONDON) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    instant = to_utc(datetime(2023, 8, 7, 17, 30))
    assert instant == datetime(2023, 8, 7, 10, 30, tzinfo=UTC)
    assert to_local(instant).strftime("%H:%M %z") == "17:30 +0700"


def test_bad_rules_are_refused_clearly():
    with pytest.raises(InvalidRecurrence, match="cannot read RRULE"):
        Recurrence("FREQ=SOMETIMES", datetime(2023, 8, 1, 9, 0), timedelta(minutes=5))
    with pytest.raises(InvalidRecurrence, match="duration"):
        Recurrence("FREQ=DAILY", datetime(2023, 8, 1, 9, 0), timedelta(0))
    with pytest.raises(InvalidRecurrence, match="without a zone"):
        Recurrence("FREQ=DAILY", datetime(2023, 8, 1, 9, 0, tzinfo=UTC), timedelta(minutes=5))
