"""The local days a fan-out airs on: the dates given, or a rule's between two dates (at most 400)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from contracts.localtime import to_utc
from services.scheduler.domain.errors import InvalidCommand
from services.scheduler.domain.recurrence import InvalidRecurrence, Recurrence

MAX_DAYS = 400


def days_of(dates: Iterable[date] | None, rule: str | None, from_date: date, to_date: date) -> list[date]:
    """The plan's local days, in order; a rule yielding more than ``MAX_DAYS`` is refused."""
    if dates is not None:
        return sorted(set(dates))
    first = datetime.combine(from_date, time())
    try:
        # The same checked, lazy and capped expansion as a series: a hostile rule is refused at once.
        recurrence = Recurrence(rule, first, timedelta(minutes=1))
        recurrence.check_occurs()
        occurrences = recurrence.between(
            to_utc(first), to_utc(datetime.combine(to_date + timedelta(days=1), time())), MAX_DAYS
        )
    except InvalidRecurrence as exc:
        raise InvalidCommand("rule", str(exc)) from None
    days = sorted({o.local_start.date() for o in occurrences})
    if len(days) > MAX_DAYS:
        raise InvalidCommand("rule", f"more than {MAX_DAYS} days")
    return days
