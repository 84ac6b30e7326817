"""HTTP bodies of the metrics API (/v1). Times are shown in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from contracts.base import Contract


class SampleIn(Contract):
    """One cumulative reading of an airing's counters, as a platform or an operator reports it.

    ``counters`` is open: views, interactions, reactions, shares, comments, reach,
    peak_viewers, or any counter a platform names. Items are checked one by one:
    a bad item is rejected with its reason and the rest of the batch is stored.
    """

    airing_id: UUID
    sampled_at: datetime = Field(description="when the platform read the counters (no offset = Vietnam time)")
    source: str = Field(default="api", min_length=1, max_length=120, examples=["facebook"])
    counters: dict[str, int] = Field(
        min_length=1, examples=[{"views": 1700, "interactions": 778, "shares": 139, "comments": 105}]
    )


class SampleBatch(Contract):
    items: list[dict[str, Any]] = Field(min_length=1, max_length=10_000, description="SampleIn objects")


class RejectedSample(Contract):
    index: int
    field: str
    reason: str


class SampleBatchResult(Contract):
    accepted: int
    rejected: list[RejectedSample]
    position: int = Field(description="global position of the last sample stored (0: none)")


class CounterPoint(Contract):
    sampled_at: datetime
    value: int
    source: str


class AiringMetrics(Contract):
    airing_id: UUID
    title: str | None = None
    kind: str | None = None
    resource_id: str | None = None
    campaign_id: UUID | None = None
    status: str | None = None
    counters: dict[str, int] = Field(description="latest figure of each counter")
    history: dict[str, list[CounterPoint]] = Field(description="each counter over time, oldest first")


class StatsRow(Contract):
    """One group of the statistics; the grouping keys present are those asked for."""

    keys: dict[str, str | None]
    airings_planned: int
    airings_aired: int
    airings_missed: int
    airings_made_up: int = Field(
        default=0, description="missed airings made up by another (not counted as missed)"
    )
    airings_partial: int
    airings_bumped: int
    airings_cancelled: int
    communes_reached: int
    counters: dict[str, int]


class Stats(Contract):
    group_by: list[str]
    as_of_position: int = Field(description="global position of the metrics log these figures reflect")
    rows: list[StatsRow]


class ReportLine(Contract):
    label: str
    values: dict[str, int | str | None]


class MonthlyReport(Contract):
    """A month's outreach for a province or a campaign, in the shape of the centres' reports."""

    title: str
    month: date
    province: str | None = None
    campaign_id: UUID | None = None
    as_of_position: int
    totals: dict[str, int]
    loudspeaker_by_commune: list[ReportLine]
    loudspeaker_by_language: list[ReportLine]
    radio: list[ReportLine] = Field(default_factory=list, description="segments per radio programme")
    livestreams: list[ReportLine]
    pages: list[ReportLine]
