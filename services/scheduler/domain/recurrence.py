"""Series: RFC 5545 recurrence (RRULE + EXDATE + RDATE) in local time, expanded to UTC airings.

Expansion happens in the series' zone on wall-clock times, so "every Monday at
17:30" stays at 17:30 local across a daylight-saving change, and is converted to
UTC only at the end. python-dateutil does the RFC 5545 work: every N weeks, the
2nd Friday or the last Tuesday of a month, COUNT and UNTIL come for free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from services.common.localtime import VIETNAM, to_utc


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
    """A recurring plan: ``rule`` is an RRULE value (``FREQ=WEEKLY;BYDAY=MO,WE,FR``)."""

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
        self._rrule()  # fail early on a bad rule

    def _rrule(self) -> rrule:
        rule = self._until_in_utc(self.rule.removeprefix("RRULE:"))
        try:
            parsed = rrulestr(rule, dtstart=self.first_start.replace(tzinfo=self.zone))
        except (ValueError, TypeError) as exc:
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
            if name.upper() != "UNTIL" or value.upper().endswith("Z"):
                continue
            try:
                if "T" in value:
                    local = datetime.strptime(value, "%Y%m%dT%H%M%S")
                else:  # a date: every occurrence of that day
                    local = datetime.strptime(value, "%Y%m%d") + timedelta(days=1, seconds=-1)
                parts[i] = f"UNTIL={to_utc(local, self.zone):%Y%m%dT%H%M%SZ}"
            except ValueError as exc:
                raise InvalidRecurrence(f"cannot read UNTIL={value} in RRULE {self.rule!r}: {exc}") from None
        return ";".join(parts)

    def between(self, start: datetime, end: datetime) -> list[Occurrence]:
        """Occurrences whose UTC start lies in [start, end), in order."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("window bounds are instants: give them with a zone")
        lo = start.astimezone(self.zone) - self.duration
        hi = end.astimezone(self.zone)
        local_starts = set(self._rrule().between(lo, hi, inc=True))
        local_starts |= {d.replace(tzinfo=self.zone) for d in self.rdates}
        out = []
        for local in sorted(local_starts):
            naive = local.replace(tzinfo=None)
            if naive in self.exdates:
                continue
            starts_at = local.astimezone(UTC)
            if start <= starts_at < end:
                out.append(Occurrence(naive, starts_at, starts_at + self.duration))
        return out

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
