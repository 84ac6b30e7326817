"""HTTP bodies of the metrics API (/v1). Times are shown in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BeforeValidator, Field

from contracts.base import Contract
from contracts.events.schedule import AiringKind
from contracts.http.types import (
    AS_OF,
    MAX_SAFE_INTEGER,
    Cursor,
    DayOrTime,
    Language,
    Limit,
    LocalDateTime,
    Province,
    Query,
    ResourceRef,
    WithTotal,
    integer,
    text,
)

Source = text(120)
GroupBy = text(200)
CounterName = Annotated[text(60), Field(min_length=1)]


def _cumulative(value: Any) -> Any:
    # Checked before pydantic's own bounds, so that the refusal says why the bound is there.
    value = integer(value)
    if value < 0:
        raise ValueError("a cumulative counter cannot be negative")
    if value > MAX_SAFE_INTEGER:
        raise ValueError(f"is larger than {MAX_SAFE_INTEGER} (2^53 − 1), the largest counter kept")
    return value


CounterValue = Annotated[int, BeforeValidator(_cumulative), Field(ge=0, le=MAX_SAFE_INTEGER)]


class SampleIn(Contract):
    """One cumulative reading of an airing's counters, as a platform or an operator reports it.

    ``counters`` is open: views, interactions, reactions, shares, comments, reach,
    peak_viewers, or any counter a platform names. Items are checked one by one:
    a bad item is rejected with its reason and the rest of the batch is stored.
    """

    airing_id: UUID
    sampled_at: LocalDateTime = Field(
        description="when the platform read the counters (no offset = Vietnam time)"
    )
    source: Source = Field(default="api", min_length=1, examples=["facebook"])
    counters: dict[CounterName, CounterValue] = Field(
        min_length=1,
        max_length=100,
        examples=[{"views": 1700, "interactions": 778, "shares": 139, "comments": 105}],
    )


class SampleBatch(Contract):
    """A batch of samples; each item is checked on its own (a refused item names its index)."""

    items: list[SampleIn | Any] = Field(
        min_length=1,
        max_length=10_000,
        description="SampleIn objects; an item that is not one is refused on its own, with its reason",
    )


class RejectedSample(Contract):
    index: int
    field: str
    reason: str


class SampleBatchResult(Contract):
    accepted: int
    rejected: list[RejectedSample]
    position: int = Field(description="global position of the last sample stored (0: none)")


# -- query parameters --------------------------------------------------------------


class AsOfQuery(Query):
    as_of: str | None = Field(
        default=None,
        pattern=AS_OF,
        description="a log position (digits) or a past local day or time: the figures as they stood then",
    )


class FiltersQuery(AsOfQuery):
    campaign_id: UUID | None = None
    resource_id: ResourceRef | None = None
    kind: AiringKind | None = None
    language: Language | None = None
    province: Province | None = None
    from_: DayOrTime | None = Field(default=None, alias="from", description="airings starting at or after")
    to: DayOrTime | None = Field(default=None, description="airings starting before")


class StatsQuery(FiltersQuery):
    group_by: GroupBy | None = Field(
        default=None,
        description="comma-separated: campaign, province, commune, kind, language, day, month…",
    )
    cursor: Cursor | None = None
    limit: Limit = Field(
        default=10_000, le=10_000, description="groups per page (a national commune table fits one)"
    )
    total: WithTotal = False


class LivestreamsQuery(FiltersQuery):
    limit: Limit = Field(default=20, le=500)


class LivestreamRow(Contract):
    airing_id: UUID
    title: str | None = None
    resource_id: str | None = None
    starts_at: datetime | None = None
    status: str | None = None
    counters: dict[str, int] = Field(description="latest figure of each counter")


class LivestreamList(Contract):
    items: list[LivestreamRow]


class Rebuilt(Contract):
    """The statistics now served: a fresh generation built from the whole log."""

    generation: int
    events: int = Field(description="events applied to build it")


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
    total: int | None = Field(default=None, description="groups in all pages; only with total=true")
    next_cursor: str | None = Field(default=None, description="the next page's cursor; none on the last")


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
