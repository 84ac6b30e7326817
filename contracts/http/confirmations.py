"""HTTP bodies of corrections, bulk confirmations (as-run logs) and an airing's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from contracts.base import Contract
from contracts.events.schedule import Outcome
from contracts.http.types import LocalDateTime, Reason, name


class CorrectionRequest(Contract):
    """Change an airing's as-run record explicitly; ``why`` is kept in its history."""

    outcome: Outcome
    actual_start: LocalDateTime | None = None
    actual_end: LocalDateTime | None = None
    reason: Reason | None = Field(default=None, examples=["mất điện cả buổi chiều"])
    why: name(500) = Field(examples=["sổ nhật ký ghi nhầm ngày"])  # type: ignore[valid-type]


class HistoryEntry(Contract):
    """One event of an airing, as the event store holds it."""

    position: int = Field(description="the event's global position in the scheduler's log")
    type: str = Field(examples=["schedule.ConfirmationCorrected"])
    recorded_at: datetime
    actor: str | None = None
    correlation_id: UUID | None = None
    changes: dict[str, Any] = Field(description="the event's fields, ids left out")


class History(Contract):
    """Every event of an airing, a series or a campaign, oldest first."""

    subject: str = Field(examples=["airing", "series", "campaign"])
    id: UUID
    resource_id: str | None = Field(default=None, description="the resource whose schedule holds it")
    items: list[HistoryEntry]
    next_cursor: str | None = Field(default=None, description="the next page's cursor; none on the last")


class BulkConfirmation(Contract):
    """One as-run record of a bulk confirmation."""

    airing_id: UUID
    outcome: Outcome
    actual_start: LocalDateTime | None = None
    actual_end: LocalDateTime | None = None
    reason: Reason | None = None


class BulkConfirmationRequest(Contract):
    items: list[BulkConfirmation] = Field(min_length=1, max_length=10_000)


class ItemResult(Contract):
    """What became of one item (``index`` from 0) or one row of an uploaded log (``row`` from 2, under
    the heading)."""

    index: int | None = None
    row: int | None = None
    airing_id: UUID | None = None
    status: str = Field(description="confirmed, already confirmed, or refused", examples=["confirmed"])
    field: str | None = None
    reason: str | None = None


class BulkConfirmationResult(Contract):
    confirmed: int
    already_confirmed: int
    refused: int
    items: list[ItemResult]
