"""Series expansion: RFC 5545 rules in local time, stored in UTC."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.localtime import NonexistentLocalTime, to_local, to_utc
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
    with pytest.raises(InvalidRecurrence, match="FREQ must be one of"):
        Recurrence("FREQ=SOMETIMES", datetime(2023, 8, 1, 9, 0), timedelta(minutes=5))
    with pytest.raises(InvalidRecurrence, match="duration"):
        Recurrence("FREQ=DAILY", datetime(2023, 8, 1, 9, 0), timedelta(0))
    with pytest.raises(InvalidRecurrence, match="without a zone"):
        Recurrence("FREQ=DAILY", datetime(2023, 8, 1, 9, 0, tzinfo=UTC), timedelta(minutes=5))
    with pytest.raises(InvalidRecurrence, match="cannot read RRULE"):
        Recurrence("FREQ=DAILY;BYDAY=XX", datetime(2023, 8, 1, 9, 0), timedelta(minutes=5))


# -- hostile rules: each refused from its text or within a bounded walk, well under 100 ms -----------

BUDGET = 0.5  # seconds for one refusal: the target is 0.1 s, the margin is for a loaded CI machine
HOSTILE = {
    "FREQ=DAILY;INTERVAL=0": "INTERVAL must be an integer",
    "FREQ=DAILY;INTERVAL=-3": "INTERVAL must be an integer",
    "FREQ=WEEKLY;INTERVAL=99999999999": "INTERVAL must be an integer",
    "FREQ=DAILY;COUNT=-1": "COUNT must be an integer",
    "FREQ=DAILY;COUNT=0": "COUNT must be an integer",
    "FREQ=DAILY;COUNT=100000000": "COUNT must be an integer",
    "FREQ=DAILY;COUNT=3;UNTIL=20231231": "not both",
    "FREQ=SECONDLY": "SECONDLY is refused",
    "FREQ=MINUTELY;COUNT=5": "MINUTELY is refused",
    "FREQ=HOURLY": "HOURLY needs an end",
    "FREQ=DAILY;FREQ=WEEKLY": "given twice",
    "FREQ=DAILY;UNTIL=99991231": "outside 2000-01-01",
    "FREQ=DAILY;UNTIL=19000101T000000Z": "outside 2000-01-01",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30": "never occurs",
    "FREQ=HOURLY;COUNT=10;BYMONTH=2;BYMONTHDAY=31": "never occurs",
    "FREQ=DAILY;BYSETPOS=2": "never occurs",
    "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31": "never occurs",
    "FREQ=WEEKLY;BYDAY=MO;BYMONTH=2;BYMONTHDAY=30": "never occurs",
}


def refused_in_time(rule, first_start=datetime(2026, 12, 1, 6, 0), match=None):
    started = time.perf_counter()
    with pytest.raises(InvalidRecurrence, match=match) as refusal:
        recurrence = Recurrence(rule, first_start, timedelta(minutes=15))
        recurrence.check_occurs()
        recurrence.between(to_utc(first_start), to_utc(first_start) + timedelta(days=60))
    elapsed = time.perf_counter() - started
    assert elapsed < BUDGET, f"{rule} refused after {elapsed:.3f} s"
    return str(refusal.value)


@pytest.mark.parametrize("rule", sorted(HOSTILE))
def test_a_hostile_rule_is_refused_from_its_text_in_time(rule):
    refused_in_time(rule, match=HOSTILE[rule])


@pytest.mark.parametrize(
    "first_start",
    [
        datetime(1, 1, 1, 6, 0),
        datetime(1999, 12, 31, 23, 0),
        datetime(2101, 1, 1, 6, 0),
        datetime(9999, 12, 31, 23, 50),
    ],
)
def test_a_first_start_outside_the_supported_range_is_refused(first_start):
    refused_in_time("FREQ=DAILY", first_start, match="outside 2000-01-01 … 2100-12-31")


def test_an_expansion_stops_at_its_cap_instead_of_materialising_everything():
    every_hour = Recurrence(
        "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))), datetime(2000, 1, 1), timedelta(minutes=5)
    )
    started = time.perf_counter()
    with pytest.raises(InvalidRecurrence, match="more than 10000 occurrences"):
        every_hour.between(to_utc(datetime(2000, 1, 1)), to_utc(datetime(2100, 1, 1)))
    assert time.perf_counter() - started < BUDGET * 3  # 20,000 occurrences walked, not 876,000
    assert len(every_hour.between(to_utc(datetime(2000, 1, 1)), to_utc(datetime(2000, 2, 1)))) == 31 * 24
    started = time.perf_counter()
    with pytest.raises(InvalidRecurrence, match=r"more than 100000 occurrences .* give a later first_start"):
        every_hour.between(*AUGUST)  # 200,000 occurrences lie before August 2023: dateutil walks from DTSTART
    assert time.perf_counter() - started < BUDGET * 5


def test_a_rare_but_real_rule_is_accepted():
    leap_day = Recurrence(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", datetime(2025, 3, 1, 6, 0), timedelta(hours=1)
    )
    leap_day.check_occurs()
    four_years = (to_utc(datetime(2025, 1, 1)), to_utc(datetime(2029, 1, 1)))
    assert [o.local_start for o in leap_day.between(*four_years)] == [datetime(2028, 2, 29, 6, 0)]
    hourly = Recurrence("FREQ=HOURLY;INTERVAL=2;COUNT=4", datetime(2023, 8, 7, 6, 0), timedelta(minutes=30))
    assert [d.hour for d in starts(hourly)] == [6, 8, 10, 12]


def test_exdates_and_rdates_with_an_offset_name_the_instant():
    bulletin = Recurrence(
        "FREQ=DAILY;COUNT=3",
        datetime(2023, 8, 7, 17, 30),
        timedelta(minutes=15),
        exdates=frozenset({datetime.fromisoformat("2023-08-08T17:30+07:00")}),
        rdates=frozenset({datetime.fromisoformat("2023-08-20T06:00+00:00")}),
    )
    assert starts(bulletin) == [
        datetime(2023, 8, 7, 17, 30),
        datetime(2023, 8, 9, 17, 30),
        datetime(2023, 8, 20, 13, 0),
    ]  # 06:00 UTC is 13:00 in Vietnam
