"""HTTP bodies of giving bumped airings their slots back (POST /v1/airings/{emergency_id}/restore-bumped)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from contracts.base import Contract
from contracts.http.scheduler import ConflictingAiring


class RestoredAiring(Contract):
    """What became of one airing the emergency had bumped."""

    airing_id: UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    result: Literal["restored", "refused", "not_bumped"] = Field(
        description="restored: it holds its slot again; refused: its slot is taken (reason, conflicts); "
        "not_bumped: it is no longer bumped (restored, moved or cancelled since)"
    )
    status: str = Field(description="its status after this request")
    reason: str | None = None
    conflicts: list[ConflictingAiring] = Field(default_factory=list)


class RestoreBumpedResult(Contract):
    """One result per airing the emergency bumped, in start order."""

    emergency_id: UUID
    restored: int
    refused: int
    items: list[RestoredAiring]
