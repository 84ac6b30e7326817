"""HTTP body of ``GET /v1/reports``: a report for any period (month, quarter, year, from/to)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from contracts.base import Contract
from contracts.http.metrics import ReportLine


class PeriodReport(Contract):
    """A period's outreach, in the shape of the centres' reports.

    Airings count by the status sets of ``contracts.events.status``. Each platform
    has its own line (items, reach, views, interactions, shares, comments): no
    total adds one platform's figures to another's.
    """

    title: str
    period: str = Field(examples=["2023-08", "2023-Q3", "2022", "2023-08-05..2023-09-04"])
    starts_on: date
    ends_on: date = Field(description="the last day of the period (inclusive)")
    province: str | None = None
    campaign_id: UUID | None = None
    commune: str | None = Field(default=None, description="a commune's resource id")
    language: str | None = None
    platform: str | None = None
    as_of_position: int
    totals: dict[str, int] = Field(
        description="loudspeaker and radio airings (counts only, no platform figures)"
    )
    by_language_and_month: list[ReportLine] = Field(
        description="loudspeaker airings aired, one line per language, one column per month, and the total"
    )
    loudspeaker_by_commune: list[ReportLine]
    radio: list[ReportLine]
    platforms: list[ReportLine] = Field(description="per platform: items published and their figures")
    livestreams: list[ReportLine]
