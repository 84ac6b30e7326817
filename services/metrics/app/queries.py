"""The read-model port: what handlers and entry points may ask of the statistics.

The statistics live in generations (``adapters.generations``); a *view* is one of
them as it stood at a log position — the serving one, or one built as of a past
position — and every answer it gives reflects that position.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from contracts.http.metrics import MonthlyReport
from contracts.http.reports import PeriodReport
from services.metrics.domain.period import Period

GROUPS = ("campaign", "campaign_id", "province", "commune", "resource", "kind", "platform", "language",
          "status", "day", "month")  # fmt: skip
"""What statistics may be grouped by."""


@dataclass(frozen=True)
class Filters:
    """Which airings a statistic or a list covers (every field optional)."""

    campaign_id: uuid.UUID | None = None
    resource_id: str | None = None
    kind: str | None = None
    language: str | None = None
    province: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None


@dataclass(frozen=True)
class ReportScope:
    """Whose report: a province, a campaign, a commune, a language, a platform (each optional)."""

    province: str | None = None
    campaign_id: uuid.UUID | None = None
    commune: str | None = None
    language: str | None = None
    platform: str | None = None


@dataclass(frozen=True)
class Interest:
    """What a dashboard follows: a campaign, a resource (a commune), an airing, or everything."""

    campaign_id: uuid.UUID | None = None
    resource_id: str | None = None
    airing_id: uuid.UUID | None = None

    def wants(self, update: dict[str, Any]) -> bool:
        return (
            (self.campaign_id is None or update["campaign_id"] == str(self.campaign_id))
            and (self.resource_id is None or update["resource_id"] == self.resource_id)
            and (self.airing_id is None or update["airing_id"] == str(self.airing_id))
        )


class AiringPlace(NamedTuple):
    """Where an airing airs: its resource and that resource's province (None when not described)."""

    airing_id: uuid.UUID
    resource_id: str | None
    province: str | None


class StatisticsView(Protocol):
    """One generation of the statistics, as it stood at ``position``."""

    position: int

    async def statistics(self, group_by: list[str], filters: Filters) -> list[dict[str, Any]]:
        """Airing counts and counter sums per group, ordered by the group keys."""
        ...

    async def airing_metrics(self, airing_id: uuid.UUID) -> dict[str, Any] | None:
        """An airing's status, figures and readings (None when the statistics do not know it)."""
        ...

    async def livestreams(self, filters: Filters, limit: int) -> list[dict[str, Any]]:
        """Livestreams newest first, with their figures."""
        ...

    async def monthly_report(
        self, month: date, *, province: str | None, campaign_id: uuid.UUID | None
    ) -> MonthlyReport:
        """The month's report of a province or a campaign."""
        ...

    async def period_report(self, period: Period, scope: ReportScope) -> PeriodReport:
        """The report of any period."""
        ...


class StatisticsQueries(Protocol):
    """The read-model port of the metrics service."""

    @property
    def position(self) -> int:
        """The log position the serving generation reflects."""
        ...

    async def view(self, position: int | None = None) -> StatisticsView:
        """The serving generation (``None``), or the statistics as they stood at ``position``
        (no later than :attr:`position`)."""
        ...

    async def position_at(self, at: datetime) -> int:
        """The last log position recorded at or before ``at``."""
        ...

    async def wait_until(self, position: int, timeout: float = 5.0) -> None:
        """Return once the serving generation reflects ``position`` (TimeoutError after ``timeout``)."""
        ...

    async def known_airings(self, airing_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these airings the statistics know."""
        ...

    async def places(self, airing_ids: set[uuid.UUID]) -> list[AiringPlace]:
        """Where each known airing of these airs."""
        ...

    async def province_of(self, interest: Interest) -> str | None:
        """The province of the airing, resource or campaign an interest names (None: none named)."""
        ...
