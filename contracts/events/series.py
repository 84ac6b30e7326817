"""Events of recurring plans (wire names ``schedule.Series*``).

A series lives on its resource's schedule stream, next to the airings it
produces, so that its occurrences are checked for overlaps like any airing.
Local times in these events are naive wall-clock times in the series' zone
(RFC 5545 DTSTART / EXDATE / RDATE / RECURRENCE-ID); instants are aware.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import Contract, Event
from contracts.events.schedule import AiringKind, Priority


class SeriesDefinition(Contract):
    """What recurs, when, and what each occurrence airs."""

    rule: str = Field(min_length=1, max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO,WE,FR"])
    first_start: datetime = Field(description="local wall-clock time of the first occurrence (DTSTART)")
    duration_minutes: int = Field(gt=0, le=24 * 60)
    zone: str = "Asia/Ho_Chi_Minh"
    exdates: list[datetime] = Field(default_factory=list, description="local starts left out (EXDATE)")
    rdates: list[datetime] = Field(default_factory=list, description="local starts added (RDATE)")
    title: str = Field(min_length=1, max_length=300)
    topic: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=40)
    priority: Priority = Priority.normal
    script: str | None = Field(default=None, max_length=20_000)
    audio_ref: str | None = Field(default=None, max_length=500)


class SeriesPlanned(Event):
    """A recurring plan was put on a resource; its airings follow, ahead of time."""

    wire_name: ClassVar[str] = "schedule.SeriesPlanned"
    schema_version: ClassVar[int] = 1

    series_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    kind: AiringKind
    campaign_id: UUID | None = None
    definition: SeriesDefinition


class CarriedOverride(Contract):
    """An occurrence changed by hand (an override, RFC 5545 RECURRENCE-ID) that a revision carried
    into the revised series under a new RECURRENCE-ID, moved by the same change; its own choices
    (its moved window, its own title …) stay as they were."""

    airing_id: UUID
    recurrence_id: datetime = Field(description="its RECURRENCE-ID in the revised series (local)")


class SeriesRevised(Event):
    """The series changed for the occurrences from ``effective_from`` on ("this and following")."""

    wire_name: ClassVar[str] = "schedule.SeriesRevised"
    schema_version: ClassVar[int] = 1

    series_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    effective_from: datetime = Field(description="local start of the first occurrence the change applies to")
    until: datetime | None = Field(
        default=None,
        description="local start from which the definitions after this one stay (whole-series edits)",
    )
    definition: SeriesDefinition
    overrides: list[CarriedOverride] = Field(
        default_factory=list,
        description="occurrences changed by hand that the change moved to a new RECURRENCE-ID (added in"
        " version 1 as an optional field: events without it carried none)",
    )


class SeriesEnded(Event):
    """The series produces no occurrence from ``effective_from`` on."""

    wire_name: ClassVar[str] = "schedule.SeriesEnded"
    schema_version: ClassVar[int] = 1

    series_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    effective_from: datetime
    reason: str | None = Field(default=None, max_length=500)


class SkippedOccurrence(Contract):
    """An occurrence that was not scheduled because other airings held its window."""

    recurrence_id: datetime
    starts_at: AwareDatetime
    conflicts: list[UUID]


class SeriesExtended(Event):
    """The series' airings now exist up to ``through``; the ones in the way of others are listed."""

    wire_name: ClassVar[str] = "schedule.SeriesExtended"
    schema_version: ClassVar[int] = 1

    series_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    through: AwareDatetime
    skipped: list[SkippedOccurrence] = Field(default_factory=list)


EVENTS: tuple[type[Event], ...] = (SeriesPlanned, SeriesRevised, SeriesEnded, SeriesExtended)
