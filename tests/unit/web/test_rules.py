"""The rule builder: plain Vietnamese to RRULE and back, and the preview's next occurrences."""

from datetime import datetime

import pytest

from services.web.rules import RuleChoice, RuleError, describe, next_occurrences, to_rrule


def test_every_friday_is_said_as_a_planner_says_it():
    rule = to_rrule(RuleChoice("weekly", ("FR",)))
    assert rule == "FREQ=WEEKLY;BYDAY=FR"
    assert describe(rule) == "thứ Sáu hằng tuần"
    assert describe(rule, "en") == "every Friday"


def test_the_last_tuesday_of_the_month():
    rule = to_rrule(RuleChoice("monthly", ("TU",), ordinal=-1))
    assert rule == "FREQ=MONTHLY;BYDAY=-1TU"
    assert describe(rule) == "thứ Ba cuối cùng của tháng"
    days = next_occurrences(rule, datetime(2023, 8, 1, 17, 30), 3)
    assert days == [
        datetime(2023, 8, 29, 17, 30),
        datetime(2023, 9, 26, 17, 30),
        datetime(2023, 10, 31, 17, 30),
    ]


def test_weekdays_in_calendar_order_and_every_other_week():
    rule = to_rrule(RuleChoice("weekly", ("FR", "MO", "WE"), interval=2))
    assert rule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR"
    assert describe(rule) == "thứ Hai, thứ Tư, thứ Sáu, 2 tuần một lần"


def test_next_fridays_of_august_2023():
    days = next_occurrences("FREQ=WEEKLY;BYDAY=FR", datetime(2023, 8, 1, 17, 30), 5)
    assert [d.day for d in days] == [4, 11, 18, 25, 1]


@pytest.mark.parametrize(
    "choice",
    [
        RuleChoice("weekly", ()),
        RuleChoice("monthly", ("TU",), ordinal=7),
        RuleChoice("weekly", ("FR",), interval=0),
        RuleChoice("hourly", ("FR",)),
    ],
)
def test_choices_that_make_no_rule_are_refused(choice):
    with pytest.raises(RuleError):
        to_rrule(choice)


def test_a_rule_the_builder_cannot_say_is_shown_as_written_and_not_expanded():
    assert describe("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30") == "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"
    assert next_occurrences("FREQ=DAILY;INTERVAL=0", datetime(2023, 8, 1)) == []
