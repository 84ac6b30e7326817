"""What a recurrence rule may ask for, checked before anything is expanded.

A rule comes from a client, so it is read as hostile: ``INTERVAL=0`` repeats
the first occurrence forever, ``FREQ=SECONDLY`` makes millions of occurrences,
``BYMONTH=2;BYMONTHDAY=30`` never occurs and dateutil then searches up to the
year 9999 for it. The checks here refuse such rules from the text alone, and
``bounded`` gives a dateutil rule that stops at the end of a given year even
when nothing matches (dateutil looks at UNTIL only once a day matches).
"""

from __future__ import annotations

import datetime as _datetime
import functools
import types
from datetime import datetime

import dateutil.rrule as _dateutil_rrule
from dateutil.rrule import rrule

from contracts.base import FIRST_DAY, LAST_DAY

MAX_COUNT = 10_000
"""COUNT above this is more airings than one series may plan."""
MAX_INTERVAL = 1000
FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
"""SECONDLY and MINUTELY are refused: nothing airs every minute; HOURLY needs COUNT or UNTIL."""
EARLIEST = datetime.combine(FIRST_DAY, datetime.min.time())
LATEST = datetime.combine(LAST_DAY, datetime.max.time())


class RuleRefused(ValueError):
    """The rule text asks for something no series may be."""


def parts_of(rule: str) -> dict[str, str]:
    """``FREQ=DAILY;COUNT=3`` as {"FREQ": "DAILY", "COUNT": "3"}; a part given twice is refused."""
    parts: dict[str, str] = {}
    for part in rule.removeprefix("RRULE:").split(";"):
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        if not sep or not name:
            raise RuleRefused(f"{part!r} is not NAME=VALUE")
        if name in parts:
            raise RuleRefused(f"{name} is given twice")
        parts[name] = value.strip()
    return parts


def check_parts(parts: dict[str, str]) -> None:
    """FREQ no finer than an hour, INTERVAL and COUNT positive and bounded, not COUNT with UNTIL."""
    freq = parts.get("FREQ", "").upper()
    if freq in ("SECONDLY", "MINUTELY"):
        raise RuleRefused(f"FREQ={freq} is refused: nothing airs every {freq.lower()[:-2]}")
    if freq not in FREQUENCIES:
        raise RuleRefused(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleRefused("give COUNT or UNTIL, not both (RFC 5545)")
    if freq == "HOURLY" and "COUNT" not in parts and "UNTIL" not in parts:
        raise RuleRefused("FREQ=HOURLY needs an end: COUNT or UNTIL")
    _bounded_int(parts, "INTERVAL", MAX_INTERVAL)
    _bounded_int(parts, "COUNT", MAX_COUNT)


def _bounded_int(parts: dict[str, str], name: str, high: int) -> None:
    if name not in parts:
        return
    value = parts[name]
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= high:
        raise RuleRefused(f"{name} must be an integer 1..{high}, not {value!r}")


def check_in_range(value: datetime, what: str) -> None:
    """A local wall-clock time inside the supported range of days."""
    if not EARLIEST <= value.replace(tzinfo=None) <= LATEST:
        raise RuleRefused(f"{what} {value:%Y-%m-%d} is outside {FIRST_DAY} … {LAST_DAY}")


class _YearsUpTo:
    """Stands for the ``datetime`` module inside dateutil's loop, with MAXYEAR lowered."""

    date = _datetime.date
    datetime = _datetime.datetime

    def __init__(self, last_year: int) -> None:
        self.MAXYEAR = last_year


@functools.cache
def _rule_class(last_year: int) -> type[rrule]:
    # dateutil's loop ends only when a day matches past UNTIL or the year passes
    # datetime.MAXYEAR (9999). The same loop, run with MAXYEAR = last_year, stops there
    # even for a rule that never matches; nothing else of dateutil changes.
    loop = rrule._iter
    names = {**vars(_dateutil_rrule), "datetime": _YearsUpTo(last_year)}
    bounded_loop = types.FunctionType(
        loop.__code__, names, loop.__name__, loop.__defaults__, loop.__closure__
    )
    return type(f"RRuleUpTo{last_year}", (rrule,), {"_iter": bounded_loop})


def bounded(parsed: rrule, last_year: int) -> rrule:
    """``parsed`` iterating no further than the end of ``last_year`` (and of the supported range)."""
    one = rrule.__new__(_rule_class(min(last_year, LAST_DAY.year)))
    one.__dict__.update(parsed.__dict__)
    return one
