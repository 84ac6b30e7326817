"""A report's period: a month (2023-08), a quarter (2023-Q3), a year (2022) or a from/to range of days.

Pure: the period is a half-open range of Vietnamese days [start, end), named as a
centre's report names it ("tháng 8/2023", "quý III/2023", "năm 2022").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
ROMAN = ("I", "II", "III", "IV")


class PeriodError(ValueError):
    """A period that cannot be read, or lies outside 2000-01-01 … 2100-12-31; names the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # the day after the last
    label: str  # 2023-08, 2023-Q3, 2022, or 2023-08-05..2023-09-04 (inclusive)
    name: str  # in Vietnamese, for the report's title

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def months(self) -> list[str]:
        """Every month the period touches, ``YYYY-MM``, in order."""
        out, month = [], self.start.replace(day=1)
        while month < self.end:
            out.append(f"{month:%Y-%m}")
            month = (month + timedelta(days=32)).replace(day=1)
        return out


def _month_after(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def month_period(day: date) -> Period:
    """The month of ``day``, named as a report names it ("tháng 8/2023")."""
    first = day.replace(day=1)
    return Period(first, _month_after(first), f"{first:%Y-%m}", f"tháng {first.month}/{first.year}")


def parse_period(period: str | None, start: str | None = None, end: str | None = None) -> Period:
    """``period`` (month, quarter or year), or ``start``/``end`` days (both inclusive)."""
    if period is not None and (start is not None or end is not None):
        raise PeriodError("period", "give a period or from/to, not both")
    if period is None:
        if start is None or end is None:
            missing = "period" if start is None and end is None else ("from" if start is None else "to")
            raise PeriodError(
                missing, "give period=YYYY-MM, YYYY-Qn or YYYY, or both from and to (YYYY-MM-DD)"
            )
        first, last = _day(start, "from"), _day(end, "to")
        if last < first:
            raise PeriodError("to", "must not be before from")
        name = f"từ {first:%d/%m/%Y} đến {last:%d/%m/%Y}"
        return Period(first, last + timedelta(days=1), f"{first}..{last}", name)
    text = period.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError("period", "the month must be 01 … 12")
        first = _within(date(year, month, 1), "period")
        return Period(first, _month_after(first), text, f"tháng {month}/{year}")
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
        year, quarter = int(m[1]), int(m[2])
        first = _within(date(year, 3 * quarter - 2, 1), "period")
        end = _month_after(_month_after(_month_after(first)))
        return Period(first, end, f"{year}-Q{quarter}", f"quý {ROMAN[quarter - 1]}/{year}")
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        first = _within(date(year, 1, 1), "period")
        return Period(first, date(year + 1, 1, 1), text, f"năm {year}")
    raise PeriodError("period", "YYYY-MM (a month), YYYY-Qn (a quarter) or YYYY (a year)")


def _day(text: str, field: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(field, "a day, YYYY-MM-DD") from None
    return _within(day, field)


def _within(day: date, field: str) -> date:
    if not EARLIEST <= day <= LATEST:
        raise PeriodError(field, f"must lie within {EARLIEST} … {LATEST}")
    return day
