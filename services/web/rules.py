"""The rule builder's words: a recurrence chosen in plain Vietnamese (or English) becomes an RFC 5545
RRULE, and an RRULE is read back as a sentence ("thứ Sáu hằng tuần", "thứ Ba cuối cùng của tháng").

Pure functions: the pages show the sentence, the RRULE and the next occurrences
(python-dateutil) before anything is planned; the API checks the rule again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dateutil.rrule import rrulestr

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
VI_DAY = {"MO": "thứ Hai", "TU": "thứ Ba", "WE": "thứ Tư", "TH": "thứ Năm", "FR": "thứ Sáu",
          "SA": "thứ Bảy", "SU": "Chủ nhật"}  # fmt: skip
EN_DAY = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday",
          "SA": "Saturday", "SU": "Sunday"}  # fmt: skip
VI_ORDINAL = {1: "đầu tiên", 2: "thứ hai", 3: "thứ ba", 4: "thứ tư", -1: "cuối cùng"}
EN_ORDINAL = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


class RuleError(ValueError):
    """The choices do not make a rule (no weekday chosen, an ordinal out of range)."""


@dataclass(frozen=True)
class RuleChoice:
    """What the builder's form asks: how often, on which weekdays, which one of the month."""

    frequency: str  # "daily" | "weekly" | "monthly"
    weekdays: tuple[str, ...] = ()
    interval: int = 1
    ordinal: int | None = None  # monthly: 1..4 or -1 (last)


def to_rrule(choice: RuleChoice) -> str:
    """The RRULE (without ``RRULE:``) for the builder's choice."""
    if choice.interval < 1 or choice.interval > 52:
        raise RuleError("interval: 1 to 52")
    days = [d for d in WEEKDAYS if d in choice.weekdays]
    interval = f";INTERVAL={choice.interval}" if choice.interval > 1 else ""
    if choice.frequency == "daily":
        return f"FREQ=DAILY{interval}"
    if not days:
        raise RuleError("weekdays: choose at least one day")
    if choice.frequency == "weekly":
        return f"FREQ=WEEKLY{interval};BYDAY={','.join(days)}"
    if choice.frequency == "monthly":
        if choice.ordinal not in VI_ORDINAL:
            raise RuleError("ordinal: 1, 2, 3, 4 or -1 (last)")
        return f"FREQ=MONTHLY{interval};BYDAY={','.join(f'{choice.ordinal}{d}' for d in days)}"
    raise RuleError("frequency: daily, weekly or monthly")


def _parts(rule: str) -> dict[str, str]:
    parts = {}
    for item in rule.removeprefix("RRULE:").split(";"):
        if "=" in item:
            name, value = item.split("=", 1)
            parts[name.upper()] = value.upper()
    return parts


def describe(rule: str, language: str = "vi") -> str:
    """A sentence for the rule; rules the builder cannot make are shown as they are."""
    parts = _parts(rule)
    vi = language == "vi"
    names = VI_DAY if vi else EN_DAY
    interval = int(parts.get("INTERVAL", "1") or 1)
    known = set(parts) <= {"FREQ", "BYDAY", "INTERVAL"}
    freq = parts.get("FREQ")
    if not known or freq not in ("DAILY", "WEEKLY", "MONTHLY"):
        return rule
    if freq == "DAILY":
        if interval == 1:
            return "hằng ngày" if vi else "every day"
        return f"{interval} ngày một lần" if vi else f"every {interval} days"
    days = [d for d in parts.get("BYDAY", "").split(",") if d]
    if freq == "WEEKLY":
        if not days or any(d not in names for d in days):
            return rule
        listed = ", ".join(names[d] for d in days)
        if interval == 1:
            return f"{listed} hằng tuần" if vi else f"every {listed}"
        return f"{listed}, {interval} tuần một lần" if vi else f"every {interval} weeks on {listed}"
    phrases = []
    for day in days:
        ordinal, code = day[:-2], day[-2:]
        try:
            n = int(ordinal)
        except ValueError:
            return rule
        if n not in VI_ORDINAL or code not in names:
            return rule
        phrases.append(f"{names[code]} {VI_ORDINAL[n]}" if vi else f"the {EN_ORDINAL[n]} {names[code]}")
    if not phrases:
        return rule
    joined = ", ".join(phrases)
    if interval == 1:
        return f"{joined} của tháng" if vi else f"{joined} of the month"
    return f"{joined} của tháng, {interval} tháng một lần" if vi else f"{joined}, every {interval} months"


def next_occurrences(rule: str, first: datetime, count: int = 5) -> list[datetime]:
    """The first ``count`` occurrences from ``first`` (local wall-clock time), for the preview.

    Only rules the builder makes are expanded here (a typed rule that could run away is the API's
    to refuse); others give no preview.
    """
    parts = _parts(rule)
    if describe(rule) == rule or int(parts.get("INTERVAL", "1") or 0) < 1:
        return []
    expansion = rrulestr(rule.removeprefix("RRULE:"), dtstart=first)
    found = []
    for occurrence in expansion:
        found.append(occurrence)
        if len(found) >= count:
            break
    return found
