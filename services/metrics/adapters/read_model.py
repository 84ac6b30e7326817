"""The read-model port (``app.queries``) on PostgreSQL: SQL over the statistics' generations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.http.metrics import MonthlyReport
from contracts.http.reports import PeriodReport
from contracts.localtime import to_local
from services.eventstore.port import EventStore
from services.metrics.adapters.generations import StatisticsGenerations
from services.metrics.adapters.reports import monthly_report, period_report
from services.metrics.adapters.statistics import airing_metrics, filters_where, statistics
from services.metrics.app.queries import AiringPlace, Filters, Interest, ReportScope
from services.metrics.domain.period import Period


class PostgresStatisticsView:
    """One generation schema, as it stood at ``position``."""

    def __init__(self, pool: asyncpg.Pool, store: EventStore, schema: str, position: int) -> None:
        self.pool = pool
        self.store = store
        self.schema = schema
        self.position = position

    async def statistics(self, group_by: list[str], filters: Filters) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            return await statistics(conn, self.schema, group_by, filters)

    async def airing_metrics(self, airing_id: uuid.UUID) -> dict[str, Any] | None:
        async with self.pool.acquire() as conn:
            return await airing_metrics(
                conn, self.schema, airing_id, store=self.store, position=self.position
            )

    async def livestreams(self, filters: Filters, limit: int) -> list[dict[str, Any]]:
        s = self.schema
        where, args = filters_where(filters)
        where = f"{where} and a.kind = 'livestream'" if where else "where a.kind = 'livestream'"
        args.append(limit)
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"""select a.airing_id, a.title, a.resource_id, a.starts_at, a.status,
                           coalesce((select jsonb_object_agg(f.counter, f.value) from {s}.figures f
                                     where f.airing_id = a.airing_id), '{{}}') as counters
                    from {s}.airings a left join {s}.resources r on r.resource_id = a.resource_id
                    {where} order by a.starts_at desc nulls last, a.airing_id limit ${len(args)}""",
                *args,
            )
        return [
            dict(r)
            | {
                "airing_id": str(r["airing_id"]),
                "starts_at": to_local(r["starts_at"]).isoformat() if r["starts_at"] else None,
            }
            for r in rows
        ]

    async def monthly_report(
        self, month: date, *, province: str | None, campaign_id: uuid.UUID | None
    ) -> MonthlyReport:
        async with self.pool.acquire() as conn:
            return await monthly_report(
                conn, self.schema, month, province=province, campaign_id=campaign_id, position=self.position
            )

    async def period_report(self, period: Period, scope: ReportScope) -> PeriodReport:
        async with self.pool.acquire() as conn:
            return await period_report(conn, self.schema, period, scope, position=self.position)


class PostgresStatistics:
    """The statistics' queries over the serving generation, or one built as of a past position."""

    def __init__(self, generations: StatisticsGenerations) -> None:
        self.generations = generations

    @property
    def position(self) -> int:
        return self.generations.position

    async def view(self, position: int | None = None) -> PostgresStatisticsView:
        g = self.generations
        if position is None:
            # The position first: the tables read later reflect it, or more, never less.
            position = g.position
            return PostgresStatisticsView(g.pool, g.store, g.schema, position)
        return PostgresStatisticsView(g.pool, g.store, await g.as_of(position), position)

    async def position_at(self, at: datetime) -> int:
        return await self.generations.position_at(at)

    async def wait_until(self, position: int, timeout: float = 5.0) -> None:
        await self.generations.wait_until(position, timeout)

    async def known_airings(self, airing_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        if not airing_ids:
            return set()
        async with self.generations.pool.acquire() as conn:
            rows = await conn.fetch(
                f"select airing_id from {self.generations.schema}.airings where airing_id = any($1::uuid[])",
                list(airing_ids),
            )
        return {r["airing_id"] for r in rows}

    async def places(self, airing_ids: set[uuid.UUID]) -> list[AiringPlace]:
        if not airing_ids:
            return []
        s = self.generations.schema
        async with self.generations.pool.acquire() as conn:
            rows = await conn.fetch(
                f"select a.airing_id, a.resource_id, r.province from {s}.airings a left join "
                f"{s}.resources r on r.resource_id = a.resource_id where a.airing_id = any($1::uuid[])",
                list(airing_ids),
            )
        return [AiringPlace(*r) for r in rows]

    async def province_of(self, interest: Interest) -> str | None:
        s = self.generations.schema
        if interest.airing_id is not None:
            sql, key = (
                f"select r.province from {s}.airings a join {s}.resources r "
                "on r.resource_id = a.resource_id where a.airing_id = $1",
                interest.airing_id,
            )
        elif interest.resource_id is not None:
            sql, key = f"select province from {s}.resources where resource_id = $1", interest.resource_id
        elif interest.campaign_id is not None:
            sql, key = f"select province from {s}.campaigns where campaign_id = $1", interest.campaign_id
        else:
            return None
        async with self.generations.pool.acquire() as conn:
            return await conn.fetchval(sql, key)
