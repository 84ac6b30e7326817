"""Events of the planning context (wire names ``schedule.*``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import Event


class AiringKind(StrEnum):
    livestream = "livestream"
    radio = "radio"
    loudspeaker = "loudspeaker"
    post = "post"  # a post (tin, bài, video) on a page; it holds no window: a page posts while it streams


SHARES_ITS_WINDOW = frozenset({AiringKind.post})
"""Kinds that never conflict: two posts, or a post and a livestream, may share a minute."""


class Priority(StrEnum):
    """The three bulletin priorities of the national loudspeaker system."""

    normal = "normal"
    priority = "priority"
    emergency = "emergency"


class Outcome(StrEnum):
    aired = "aired"
    missed = "missed"
    partial = "partial"


class AiringScheduled(Event):
    """An airing was put on a resource's schedule."""

    wire_name: ClassVar[str] = "schedule.AiringScheduled"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    kind: AiringKind
    resource_id: str = Field(min_length=1, max_length=120)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    title: str = Field(min_length=1, max_length=300)
    topic: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=40)
    campaign_id: UUID | None = None
    series_id: UUID | None = None
    recurrence_id: datetime | None = Field(
        default=None, description="for an airing of a series: the occurrence's local start (RFC 5545)"
    )
    priority: Priority = Priority.normal
    script: str | None = Field(default=None, max_length=20_000)
    audio_ref: str | None = Field(default=None, max_length=500)
    makeup_of: UUID | None = Field(
        default=None, description="the missed airing (on the same resource) this one makes up for"
    )


class AiringRescheduled(Event):
    """An airing moved to another time window on its resource."""

    wire_name: ClassVar[str] = "schedule.AiringRescheduled"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    previous_starts_at: AwareDatetime
    previous_ends_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=500)


class AiringCancelled(Event):
    """A planner withdrew an airing before it aired."""

    wire_name: ClassVar[str] = "schedule.AiringCancelled"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    reason: str | None = Field(default=None, max_length=500)


class AiringBumped(Event):
    """An emergency bulletin took this airing's slot; the operator sees it and why."""

    wire_name: ClassVar[str] = "schedule.AiringBumped"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    bumped_by: UUID
    bumped_by_title: str = Field(max_length=300)


class AiringRestored(Event):
    """A bumped airing got its slot back once the emergency that took it was cancelled or ended early.

    ``status`` is the one it had before the bump (scheduled or rescheduled), so every read model
    counts it as planned again without knowing its past."""

    wire_name: ClassVar[str] = "schedule.AiringRestored"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    status: Literal["scheduled", "rescheduled"]
    bumped_by: UUID = Field(description="the emergency airing that had taken the slot")


class AiringContentChanged(Event):
    """An airing's content changed where it stands (a whole-series change reaching an occurrence the
    planner had moved by hand): same airing, same window, new title, topic, language, script or audio."""

    wire_name: ClassVar[str] = "schedule.AiringContentChanged"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    title: str = Field(min_length=1, max_length=300)
    topic: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=40)
    script: str | None = Field(default=None, max_length=20_000)
    audio_ref: str | None = Field(default=None, max_length=500)


class LivestreamWentLive(Event):
    """A page's operator started the livestream."""

    wire_name: ClassVar[str] = "schedule.LivestreamWentLive"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    url: str | None = Field(default=None, max_length=1000)
    at: AwareDatetime
    operator: str = Field(min_length=1, max_length=120)


class LivestreamEnded(Event):
    """A page's operator ended the livestream."""

    wire_name: ClassVar[str] = "schedule.LivestreamEnded"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    at: AwareDatetime
    operator: str = Field(min_length=1, max_length=120)


class AiringConfirmed(Event):
    """An operator recorded what happened to an airing (as-run)."""

    wire_name: ClassVar[str] = "schedule.AiringConfirmed"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    outcome: Outcome
    actual_start: AwareDatetime | None = None
    actual_end: AwareDatetime | None = None
    reason: str | None = Field(default=None, max_length=500)
    operator: str = Field(min_length=1, max_length=120)
    confirmed_at: datetime


class ConfirmationCorrected(Event):
    """An airing's as-run record was changed, explicitly: who, when and why. The latest record counts;
    the history keeps every one."""

    wire_name: ClassVar[str] = "schedule.ConfirmationCorrected"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    resource_id: str = Field(min_length=1, max_length=120)
    outcome: Outcome
    actual_start: AwareDatetime | None = None
    actual_end: AwareDatetime | None = None
    reason: str | None = Field(default=None, max_length=500, description="why missed or partial")
    previous_outcome: Outcome
    why: str = Field(min_length=1, max_length=500, description="why the record was corrected")
    corrected_by: str = Field(min_length=1, max_length=120)
    corrected_at: datetime


EVENTS: tuple[type[Event], ...] = (
    AiringScheduled,
    AiringRescheduled,
    AiringCancelled,
    AiringBumped,
    AiringRestored,
    AiringContentChanged,
    AiringConfirmed,
    ConfirmationCorrected,
    LivestreamWentLive,
    LivestreamEnded,
)
