"""What planners and operators ask of a resource's schedule (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from contracts.events.schedule import AiringKind, Outcome, Priority
from contracts.events.series import SeriesDefinition
from services.scheduler.domain.errors import InvalidCommand

AS_RUN_SLACK = timedelta(days=1)
"""How far from its planned window an airing's actual times may lie (a late or early airing)."""
CLOCK_SKEW = timedelta(minutes=5)
"""A phone's clock may run this far ahead of the server's."""


@dataclass(frozen=True)
class ScheduleAiring:
    airing_id: UUID
    resource_id: str
    kind: AiringKind
    starts_at: datetime
    ends_at: datetime
    title: str
    topic: str | None = None
    language: str | None = None
    campaign_id: UUID | None = None
    series_id: UUID | None = None
    recurrence_id: datetime | None = None
    priority: Priority = Priority.normal
    script: str | None = None
    audio_ref: str | None = None
    makeup_of: UUID | None = None


@dataclass(frozen=True)
class RescheduleAiring:
    """Move an airing; without ``ends_at`` it keeps its length."""

    airing_id: UUID
    starts_at: datetime
    ends_at: datetime | None
    reason: str | None = None


@dataclass(frozen=True)
class CancelAiring:
    airing_id: UUID
    reason: str | None = None


@dataclass(frozen=True)
class RestoreBumped:
    """Give back their slots to the airings an emergency bumped, each where its slot is free again."""

    emergency_id: UUID


@dataclass(frozen=True)
class ConfirmAiring:
    airing_id: UUID
    outcome: Outcome
    operator: str
    confirmed_at: datetime
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CorrectConfirmation:
    """Change an airing's as-run record, saying why (a second confirmation is refused instead)."""

    airing_id: UUID
    outcome: Outcome
    why: str
    corrected_by: str
    corrected_at: datetime
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class GoLive:
    """``at``: when it really went live (a past livestream is recorded as it happened);
    ``received_at``: when the request came, so that ``at`` is not in the future."""

    airing_id: UUID
    operator: str
    at: datetime
    url: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True)
class EndLivestream:
    airing_id: UUID
    operator: str
    at: datetime
    received_at: datetime | None = None


@dataclass(frozen=True)
class PlanSeries:
    """Put a recurring plan on the resource and schedule its airings up to ``through``."""

    series_id: UUID
    resource_id: str
    kind: AiringKind
    definition: SeriesDefinition
    through: datetime
    campaign_id: UUID | None = None
    skip_conflicts: bool = False


@dataclass(frozen=True)
class ReviseSeries:
    """Change the series for the occurrences from ``effective_from`` (local) on."""

    series_id: UUID
    effective_from: datetime
    definition: SeriesDefinition
    skip_conflicts: bool = False


@dataclass(frozen=True)
class ReviseWholeSeries:
    """Apply ``changes`` (fields of the definition) to every occurrence from ``effective_from`` on.

    Unlike "this and following", each earlier revision keeps its own rule; only the changed fields differ.
    """

    series_id: UUID
    effective_from: datetime
    changes: dict
    skip_conflicts: bool = False


@dataclass(frozen=True)
class EndSeries:
    series_id: UUID
    effective_from: datetime
    reason: str | None = None


@dataclass(frozen=True)
class ExtendSeries:
    """Keep the horizon filled: schedule the occurrences up to ``through``, skipping those in the way."""

    series_id: UUID
    through: datetime


Command = (
    ScheduleAiring
    | RescheduleAiring
    | CancelAiring
    | ConfirmAiring
    | CorrectConfirmation
    | GoLive
    | EndLivestream
    | PlanSeries
    | ReviseSeries
    | ReviseWholeSeries
    | EndSeries
    | ExtendSeries
)


def check_actual_times(
    starts_at: datetime,
    ends_at: datetime,
    actual_start: datetime | None,
    actual_end: datetime | None,
    now: datetime,
) -> None:
    """An as-run record's times lie within a day of the airing's window and not in the future."""
    for name, value in (("actual_start", actual_start), ("actual_end", actual_end)):
        if value is None:
            continue
        if value > now + CLOCK_SKEW:
            raise InvalidCommand(name, "is in the future")
        if not starts_at - AS_RUN_SLACK <= value <= ends_at + AS_RUN_SLACK:
            raise InvalidCommand(name, "must lie within a day of the airing's planned window")
    if actual_start is not None and actual_end is not None and actual_end < actual_start:
        raise InvalidCommand("actual_end", "must not be before actual_start")
