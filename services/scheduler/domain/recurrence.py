"""Series: RFC 5545 recurrence (RRULE + EXDATE + RDATE) in local time, expanded to UTC airings.

Expansion happens in the series' zone on wall-clock times, so "every Monday at
17:30" stays at 17:30 local across a daylight-saving change, and is converted to
UTC only at the end. python-dateutil does the RFC 5545 work: every N weeks, the
2nd Friday or the last Tuesday of a month, COUNT and UNTIL come for free.

Rules come from clients, so every one is checked before it is expanded
(``recurrence_limits``) and every expansion is lazy and capped: it stops at the
end of the window's year and after ``limit`` occurrences, never materialising
more than it returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from contracts.localtime import VIETNAM, to_utc
from services.scheduler.domain.recurrence_limits import (
    RuleRefused,
    bounded,
    check_in_range,
    check_parts,
    parts_of,
)

MAX_OCCURRENCES = 10_000
"""More occurrences than this in one expansion is a rule without a sensible end (e.g. daily from 2000)."""
SCAN_LIMIT = 100_000
"""Occurrences dateutil may walk past before a window (it always starts from DTSTART)."""
FIRST_WITHIN_YEARS = 4
"""A new rule's first occurrence comes within this many years of its first start (29 February
does, up to 2100); a rule that does not is one that never occurs, or too rarely to plan by."""
MAX_DURATION = timedelta(hours=24)


class InvalidRecurrence(ValueError):
    """The RRULE cannot be parsed or produces nothing usable."""


@dataclass(frozen=True)
class Occurrence:
    """One airing a series produces: its local start (its RECURRENCE-ID) and UTC window."""

    local_start: datetime
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Recurrence:
    """A recurring plan: ``rule`` is an RRULE value (``FREQ=WEEKLY;BYDAY=MO,WE,FR``).

    EXDATE and RDATE values are wall-clock times of the series' zone; one given with an
    offset (``06:00+00:00``) is the instant it names, kept as the zone's wall clock (13:00).
    """

    rule: str
    first_start: datetime  # naive local wall-clock time of the first occurrence (DTSTART)
    duration: timedelta
    zone: ZoneInfo = VIETNAM
    exdates: frozenset[datetime] = field(default_factory=frozenset)  # naive local
    rdates: frozenset[datetime] = field(default_factory=frozenset)  # naive local

    def __post_init__(self) -> None:
        if self.first_start.tzinfo is not None:
            raise InvalidRecurrence("first_start is a local wall-clock time: give it without a zone")
        if self.duration <= timedelta(0):
            raise InvalidRecurrence("duration must be positive")
        if self.duration > MAX_DURATION:
            raise InvalidRecurrence("duration must be at most 24 hours")
        object.__setattr__(self, "exdates", frozenset(map(self._wall_clock, self.exdates)))
        object.__setattr__(self, "rdates", frozenset(map(self._wall_clock, self.rdates)))
        try:
            check_in_range(self.first_start, "first_start")
            for rdate in self.rdates:
                check_in_range(rdate, "an RDATE")
        except RuleRefused as exc:
            raise InvalidRecurrence(str(exc)) from None
        self._rrule()  # fail early on a bad rule

    def _wall_clock(self, value: datetime) -> datetime:
        return value.astimezone(self.zone).replace(tzinfo=None) if value.tzinfo else value

    def _rrule(self) -> rrule:
        try:
            parts = parts_of(self.rule)
            check_parts(parts)
        except RuleRefused as exc:
            raise InvalidRecurrence(f"RRULE {self.rule!r}: {exc}") from None
        rule = self._until_in_utc(self.rule.removeprefix("RRULE:"))
        try:
            parsed = rrulestr(rule, dtstart=self.first_start.replace(tzinfo=self.zone))
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidRecurrence(f"cannot read RRULE {self.rule!r}: {exc}") from None
        if not isinstance(parsed, rrule):
            raise InvalidRecurrence(f"give one RRULE, not a set: {self.rule!r}")
        return parsed

    def _until_in_utc(self, rule: str) -> str:
        """RFC 5545 wants UNTIL in UTC when DTSTART has a zone; planners write the local day or time
        they mean (``UNTIL=20230831``: through 31 August), so a floating UNTIL is read as local."""
        parts = rule.split(";")
        for i, part in enumerate(parts):
            name, _, value = part.partition("=")
            if name.strip().upper() != "UNTIL":
                continue
            value = value.strip()
            try:
                if value.upper().endswith("Z"):
                    instant = datetime.strptime(value.upper(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                    check_in_range(self._wall_clock(instant), "UNTIL")
                    continue
                if "T" in value:
                    local = datetime.strptime(value, "%Y%m%dT%H%M%S")
                else:  # a date: every occurrence of that day
                    local = datetime.strptime(value, "%Y%m%d") + timedelta(days=1, seconds=-1)
                check_in_range(local, "UNTIL")
                parts[i] = f"UNTIL={to_utc(local, self.zone):%Y%m%dT%H%M%SZ}"
            except RuleRefused as exc:
                raise InvalidRecurrence(f"RRULE {self.rule!r}: {exc}") from None
            except ValueError as exc:
                raise InvalidRecurrence(f"cannot read UNTIL={value} in RRULE {self.rule!r}: {exc}") from None
        return ";".join(parts)

    def check_occurs(self) -> None:
        """Refuse a rule that never occurs: its first occurrence must come within a few years."""
        last_year = self.first_start.year + FIRST_WITHIN_YEARS
        if next(iter(bounded(self._rrule(), last_year)), None) is None and not self.rdates:
            raise InvalidRecurrence(
                f"RRULE {self.rule!r} has no occurrence within {FIRST_WITHIN_YEARS} years of "
                f"{self.first_start:%Y-%m-%d}: it never occurs"
            )

    def between(self, start: datetime, end: datetime, limit: int = MAX_OCCURRENCES) -> list[Occurrence]:
        """Occurrences whose UTC start lies in [start, end), in order; more than ``limit`` is refused."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("window bounds are instants: give them with a zone")
        # A day's slack on each side: a local wall-clock time maps to UTC unevenly across DST.
        lo = start.astimezone(self.zone) - timedelta(days=1)
        hi = end.astimezone(self.zone) + timedelta(days=1)
        local_starts = set(self._walk(lo, hi, limit))
        local_starts |= {d.replace(tzinfo=self.zone) for d in self.rdates}
        out = []
        for local in sorted(local_starts):
            naive = local.replace(tzinfo=None)
            if naive in self.exdates:
                continue
            starts_at = local.astimezone(UTC)
            if start <= starts_at < end:
                out.append(Occurrence(naive, starts_at, starts_at + self.duration))
        if len(out) > limit:
            raise self._too_many(limit, start, end)
        return out

    def _walk(self, lo: datetime, hi: datetime, limit: int) -> list[datetime]:
        """The rule's local starts in [lo, hi), lazily, never past the end of hi's year."""
        found: list[datetime] = []
        for scanned, local in enumerate(bounded(self._rrule(), hi.year)):
            if local >= hi:
                break
            if scanned >= SCAN_LIMIT:
                raise InvalidRecurrence(
                    f"RRULE {self.rule!r} has more than {SCAN_LIMIT} occurrences from "
                    f"{self.first_start:%Y-%m-%d} to {hi:%Y-%m-%d}; give a later first_start"
                )
            if local >= lo:
                found.append(local)
                if len(found) > 2 * limit + 100:  # the slack days may add some; the exact check follows
                    raise self._too_many(limit, lo, hi)
        return found

    def _too_many(self, limit: int, start: datetime, end: datetime) -> InvalidRecurrence:
        return InvalidRecurrence(
            f"RRULE {self.rule!r} produces more than {limit} occurrences from {start:%Y-%m-%d} "
            f"to {end:%Y-%m-%d}; give a later first_start or an UNTIL"
        )

    def until_before(self, local_start: datetime) -> Recurrence:
        """This series cut so that its last occurrence is before ``local_start`` (this-and-following)."""
        cut = (local_start - timedelta(seconds=1)).replace(tzinfo=self.zone).astimezone(UTC)
        parts = [
            p for p in self.rule.removeprefix("RRULE:").split(";") if not p.startswith(("COUNT=", "UNTIL="))
        ]
        # COUNT cannot stay: the first part keeps the occurrences before the cut.
        parts.append(f"UNTIL={cut:%Y%m%dT%H%M%SZ}")
        return replace(
            self,
            rule=";".join(parts),
            rdates=frozenset(d for d in self.rdates if d < local_start),
            exdates=frozenset(d for d in self.exdates if d < local_start),
        )

    def with_exdates(self, more: Iterable[datetime]) -> Recurrence:
        return replace(self, exdates=self.exdates | frozenset(more))
