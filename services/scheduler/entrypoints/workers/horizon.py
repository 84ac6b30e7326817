"""Keeps every live series scheduled ahead, so no day is empty because nobody looked.

Runs in the scheduler process: at start and then every ``interval`` seconds it
extends each series that does not reach the horizon yet. Extending is
idempotent (occurrence ids are derived), so two scheduler processes doing it at
once only cost a retry.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import structlog

from contracts.envelope import EventMetadata
from services.scheduler.adapters import catalogue
from services.scheduler.app.schedules import Schedules
from services.scheduler.domain.commands import ExtendSeries
from services.scheduler.domain.errors import DomainError
from services.scheduler.domain.horizon import horizon

log = structlog.get_logger(__name__)


class HorizonKeeper:
    def __init__(
        self, schedules: Schedules, pool: asyncpg.Pool, schema: str, *, days: int, interval: float = 600
    ) -> None:
        self.schedules = schedules
        self.pool = pool
        self.schema = schema
        self.days = days
        self.interval = interval
        self._stop = asyncio.Event()

    async def fill(self) -> int:
        """Extend every series short of the horizon; the number of series extended."""
        through = horizon(self.days, datetime.now(UTC))
        async with self.pool.acquire() as conn:
            short = await catalogue.series_short_of(conn, self.schema, through)
        extended = 0
        for row in short:
            try:
                outcome = await self.schedules.execute(
                    row["resource_id"],
                    ExtendSeries(row["series_id"], through),
                    EventMetadata(actor="horizon"),
                )
            except DomainError as exc:
                log.warning("series not extended", series_id=str(row["series_id"]), reason=str(exc))
                continue
            extended += bool(outcome.events)
        if extended:
            log.info("horizon filled", series=extended, through=through.isoformat())
        return extended

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.fill()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("horizon keeper will retry", error=str(exc))
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval)
            except TimeoutError:
                pass

    def stop(self) -> None:
        self._stop.set()
