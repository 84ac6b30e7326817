"""What planners and operators ask of a resource's schedule (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from contracts.events.schedule import AiringKind, Outcome, Priority


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
    priority: Priority = Priority.normal
    script: str | None = None
    audio_ref: str | None = None


@dataclass(frozen=True)
class RescheduleAiring:
    airing_id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class CancelAiring:
    airing_id: UUID
    reason: str | None = None


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
class GoLive:
    airing_id: UUID
    operator: str
    at: datetime
    url: str | None = None


@dataclass(frozen=True)
class EndLivestream:
    airing_id: UUID
    operator: str
    at: datetime


Command = ScheduleAiring | RescheduleAiring | CancelAiring | ConfirmAiring | GoLive | EndLivestream
