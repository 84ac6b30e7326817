"""A series as the schedule knows it: its definitions over time and the occurrences it produced.

A revision ("this and following") does not rewrite history: it adds a segment
that applies from its ``effective_from`` on, so the occurrences before it keep
the rule they were planned with. Airing ids of a series are derived from the
series id, the occurrence's local start (its RECURRENCE-ID) and the revision, so
materialising the same window twice schedules nothing new and an unchanged
occurrence keeps its identity across revisions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts.events.series import SeriesDefinition, SeriesPlanned
from services.scheduler.domain.errors import InvalidCommand
from services.scheduler.domain.recurrence import MAX_OCCURRENCES, InvalidRecurrence, Occurrence, Recurrence

OCCURRENCES = uuid.UUID("b7c1d8e2-3f4a-4b5c-8d6e-7f8091a2b3c4")


def recurrence_of(definition: SeriesDefinition, *, new: bool = False) -> Recurrence:
    """The definition's recurrence; a bad rule or zone is the planner's error (422).

    ``new``: a definition a planner gives now, whose rule must also occur at all; one
    already stored is only read (a cut series may rightly have no occurrence left).
    """
    try:
        zone = ZoneInfo(definition.zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCommand("zone", f"unknown time zone {definition.zone!r}") from None
    try:
        recurrence = Recurrence(
            rule=definition.rule,
            first_start=definition.first_start,
            duration=timedelta(minutes=definition.duration_minutes),
            zone=zone,
            exdates=frozenset(definition.exdates),
            rdates=frozenset(definition.rdates),
        )
        if new:
            recurrence.check_occurs()
        return recurrence
    except InvalidRecurrence as exc:
        raise _refused(exc) from None


def _refused(exc: InvalidRecurrence) -> InvalidCommand:
    reason = str(exc)
    field = next((f for f in ("first_start", "rdates", "duration") if reason.startswith(f)), "rule")
    return InvalidCommand(field, reason)


def occurrence_id(series_id: uuid.UUID, local_start: datetime, revision: int = 0) -> uuid.UUID:
    suffix = f"|r{revision}" if revision else ""
    return uuid.uuid5(OCCURRENCES, f"{series_id}|{local_start.isoformat()}{suffix}")


def local_instant(local: datetime, zone: str) -> datetime:
    """A naive wall-clock time of the series as a UTC instant (a time in a DST gap moves forward)."""
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass(frozen=True)
class Segment:
    """The definition in force for occurrences from ``effective_from`` (local) on."""

    effective_from: datetime
    definition: SeriesDefinition
    revision: int


@dataclass(frozen=True)
class SeriesState:
    planned: SeriesPlanned
    segments: tuple[Segment, ...]
    ended_from: datetime | None = None
    through: datetime | None = None  # airings exist for occurrences starting before this instant
    occurrences: dict[datetime, uuid.UUID] = field(default_factory=dict)  # RECURRENCE-ID -> airing

    @property
    def series_id(self) -> uuid.UUID:
        return self.planned.series_id

    @property
    def current(self) -> Segment:
        return self.segments[-1]

    def segment_at(self, local_start: datetime) -> Segment:
        chosen = self.segments[0]
        for segment in self.segments:
            if segment.effective_from <= local_start:
                chosen = segment
        return chosen

    def between(
        self, start: datetime, end: datetime, limit: int = MAX_OCCURRENCES
    ) -> list[tuple[Segment, Occurrence]]:
        """The occurrences the series wants in [start, end), each with the segment that made it;
        a segment with more than ``limit`` of them is refused (InvalidCommand on ``rule``)."""
        out = []
        bounds = [s.effective_from for s in self.segments[1:]] + [None]
        for segment, upto in zip(self.segments, bounds, strict=True):
            try:
                occurrences = recurrence_of(segment.definition).between(start, end, limit)
            except InvalidRecurrence as exc:
                raise _refused(exc) from None
            for o in occurrences:
                if o.local_start < segment.effective_from or (upto is not None and o.local_start >= upto):
                    continue
                if self.ended_from is not None and o.local_start >= self.ended_from:
                    continue
                out.append((segment, o))
        return sorted(out, key=lambda pair: pair[1].starts_at)

    def start_instant(self) -> datetime:
        first = self.segments[0].definition
        return local_instant(first.first_start, first.zone)
