"""HTTP bodies of the scheduler API (/v1). Times are entered and shown in Asia/Ho_Chi_Minh.

A time without an offset (``2023-08-07T17:30``) is local wall-clock time in
Vietnam; one with an offset is taken as the instant it names. Responses always
show local time with its offset (``2023-08-07T17:30:00+07:00``).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import Contract
from contracts.events.schedule import AiringKind, Outcome, Priority


class AiringRequest(Contract):
    """Plan one airing on one resource."""

    airing_id: UUID | None = Field(
        default=None, description="optional; derived from the Idempotency-Key when absent"
    )
    kind: AiringKind
    resource_id: str = Field(min_length=1, max_length=120, examples=["loudspeaker:xa-ea-tu"])
    starts_at: datetime = Field(examples=["2023-08-07T17:30"])
    ends_at: datetime | None = None
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    title: str = Field(min_length=1, max_length=300)
    topic: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=40, examples=["Êđê"])
    campaign_id: UUID | None = None
    priority: Priority = Priority.normal
    script: str | None = Field(default=None, max_length=20_000)
    audio_ref: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_end(self) -> AiringRequest:
        if (self.ends_at is None) == (self.duration_minutes is None):
            raise ValueError("give exactly one of ends_at and duration_minutes")
        return self


class RescheduleRequest(Contract):
    starts_at: datetime
    ends_at: datetime | None = None
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_end(self) -> RescheduleRequest:
        if self.ends_at is not None and self.duration_minutes is not None:
            raise ValueError("give at most one of ends_at and duration_minutes")
        return self


class CancelRequest(Contract):
    reason: str | None = Field(default=None, max_length=500)


class ConfirmationRequest(Contract):
    """An operator's as-run record."""

    outcome: Outcome
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    reason: str | None = Field(default=None, max_length=500, examples=["mất điện"])


class LivestreamLiveRequest(Contract):
    url: str | None = Field(default=None, max_length=1000)


class AiringView(Contract):
    airing_id: UUID
    kind: AiringKind
    resource_id: str
    starts_at: datetime
    ends_at: datetime
    title: str
    topic: str | None = None
    language: str | None = None
    campaign_id: UUID | None = None
    series_id: UUID | None = None
    priority: Priority
    status: str
    script: str | None = None
    audio_ref: str | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    reason: str | None = None
    operator: str | None = None


class AiringPage(Contract):
    items: list[AiringView]
    total: int
    limit: int
    offset: int


class RunSheet(Contract):
    """What one resource airs on one local day, in order, with the script."""

    resource_id: str
    date: date
    items: list[AiringView]


class FieldProblem(Contract):
    field: str
    reason: str


class ConflictingAiring(Contract):
    airing_id: UUID
    title: str
    starts_at: datetime
    ends_at: datetime


class Problem(Contract):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)
    conflicts: list[ConflictingAiring] = Field(default_factory=list)
