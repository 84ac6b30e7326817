"""The statistics read model: tables built from the metrics log alone.

The figures are the newest reading of each (airing, counter); the readings
themselves, the time series, are not copied into a table: they are the log
(``services.metrics.adapters.statistics.airing_history`` reads an airing's stream).

The tables live in a schema of their own (a *generation*), so that a rebuild
can fill fresh tables from the log while dashboards keep reading the current
ones, and an as-of query can build tables up to a past position. Rows and the
subscription's checkpoint commit together: a crash never double-counts.

Scheduler events may arrive out of order (a retried message overtakes
another): an airing's status events create its row if needed, and its
AiringScheduled fills in the details without undoing a status already known.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from contracts.events import REGISTRY
from contracts.events.metrics import SampleRecorded
from contracts.events.reference import CampaignPlanned, ResourceDescribed
from contracts.events.schedule import (
    AiringBumped,
    AiringCancelled,
    AiringConfirmed,
    AiringContentChanged,
    AiringRescheduled,
    AiringRestored,
    AiringScheduled,
    ConfirmationCorrected,
    LivestreamEnded,
    LivestreamWentLive,
)
from services.eventstore.port import RecordedEvent
from services.metrics.adapters.figures_sql import SAMPLE, SAMPLE_VERSION, write_figures
from services.metrics.domain.figures import Figures

STATUS_OF = {
    AiringCancelled: "cancelled",
    AiringBumped: "bumped",
    LivestreamWentLive: "live",
    LivestreamEnded: "ended",
}


class StatisticsProjection:
    """Applies the metrics log to the tables of one generation schema.

    ``figures`` (optional) collects the samples' readings instead of writing them
    batch by batch; its owner writes them (a bulk build writes them once, at the end).
    """

    def __init__(self, schema: str, *, bulk: bool = False, figures: Figures | None = None) -> None:
        """``bulk``: a build from the log into fresh tables, where runs of AiringScheduled
        are written in one statement each."""
        self.schema = schema
        self.bulk = bulk
        self.figures = figures

    async def __call__(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        await self.apply_all(conn, [(e.type, e.schema_version, e.data) for e in events])

    async def apply_all(self, conn: asyncpg.Connection, events: list[tuple[str, int, Any]]) -> None:
        """Events as (type, schema_version, payload), in log order; the payload as stored (a dict,
        or for events other than current-version samples, JSON text)."""
        # Samples are most of the log: current-version ones are read straight from the stored JSON
        # (validated when written) instead of through their contract, which costs more than the SQL.
        # Figures do not depend on the other events, so the batch's samples are merged once.
        figures = self.figures if self.figures is not None else Figures()
        scheduled: list[AiringScheduled] = []
        for kind, version, data in events:
            if kind == SAMPLE and version == SAMPLE_VERSION:
                figures.add(data["airing_id"], datetime.fromisoformat(data["sampled_at"]), data["counters"])
                continue
            event = REGISTRY.decode(kind, version, data)
            if isinstance(event, AiringScheduled) and self.bulk:
                scheduled.append(event)
                continue
            if scheduled:
                await self._scheduled(conn, scheduled)
                scheduled = []
            if isinstance(event, SampleRecorded):
                figures.add(str(event.airing_id), event.sampled_at, event.counters)
                continue
            await self.apply(conn, event)
        if scheduled:
            await self._scheduled(conn, scheduled)
        if self.figures is None:
            await write_figures(conn, self.schema, figures)

    async def _scheduled(self, conn: asyncpg.Connection, run: list[AiringScheduled]) -> None:
        """A run of AiringScheduled in one statement (a rebuild meets thousands in a row)."""
        rows = {e.airing_id: e for e in run}.values()
        await conn.execute(
            f"""insert into {self.schema}.airings (airing_id, resource_id, kind, title, language, campaign_id,
                    starts_at, ends_at, makeup_of)
                select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                    $7::timestamptz[], $8::timestamptz[], $9::uuid[])
                on conflict (airing_id) do update set resource_id = excluded.resource_id,
                    kind = excluded.kind, title = excluded.title, language = excluded.language,
                    campaign_id = excluded.campaign_id, makeup_of = excluded.makeup_of,
                    starts_at = coalesce({self.schema}.airings.starts_at, excluded.starts_at),
                    ends_at = coalesce({self.schema}.airings.ends_at, excluded.ends_at)""",
            [e.airing_id for e in rows], [e.resource_id for e in rows], [e.kind.value for e in rows],
            [e.title for e in rows], [e.language for e in rows], [e.campaign_id for e in rows],
            [e.starts_at for e in rows], [e.ends_at for e in rows], [e.makeup_of for e in rows],
        )  # fmt: skip

    async def apply(self, conn: asyncpg.Connection, e: Any) -> None:
        s = self.schema
        match e:
            case ResourceDescribed():
                d = e.description
                await conn.execute(
                    f"""insert into {s}.resources values ($1, $2, $3, $4, $5, $6, $7)
                        on conflict (resource_id) do update set type = $2, name = $3, province = $4,
                            platform = $5, code = $6, languages = $7""",
                    e.resource_id, d.type.value, d.name, d.province, d.platform.value if d.platform else None,
                    d.code, d.languages,
                )  # fmt: skip
            case CampaignPlanned():
                d = e.definition
                await conn.execute(
                    f"""insert into {s}.campaigns values ($1, $2, $3, $4, $5, $6)
                        on conflict (campaign_id) do update set name = $2, province = $3, starts_on = $4,
                            ends_on = $5, communes = $6""",
                    e.campaign_id, d.name, d.province, d.starts_on, d.ends_on, d.communes,
                )  # fmt: skip
            case AiringScheduled():
                await conn.execute(
                    f"""insert into {s}.airings (airing_id, resource_id, kind, title, language, campaign_id,
                            starts_at, ends_at, makeup_of)
                        values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                        on conflict (airing_id) do update set resource_id = $2, kind = $3, title = $4,
                            language = $5, campaign_id = $6, makeup_of = $9,
                            starts_at = coalesce({s}.airings.starts_at, $7),
                            ends_at = coalesce({s}.airings.ends_at, $8)""",
                    e.airing_id, e.resource_id, e.kind.value, e.title, e.language, e.campaign_id,
                    e.starts_at, e.ends_at, e.makeup_of,
                )  # fmt: skip
            case AiringRescheduled():
                await self._status(conn, e.airing_id, "rescheduled", starts_at=e.starts_at, ends_at=e.ends_at)
            case AiringConfirmed():
                await self._as_run(conn, e, e.confirmed_at)
            case ConfirmationCorrected():  # the latest as-run record counts
                await self._as_run(conn, e, e.corrected_at)
            case LivestreamWentLive():
                await self._status(conn, e.airing_id, "live", actual_start=e.at)
            case LivestreamEnded():
                await self._status(conn, e.airing_id, "ended", actual_end=e.at)
            case AiringCancelled() | AiringBumped():
                await self._status(conn, e.airing_id, STATUS_OF[type(e)])
            case AiringContentChanged():  # a series' new title or language reaching a hand-moved airing
                await conn.execute(
                    f"update {s}.airings set title = $2, language = $3 where airing_id = $1",
                    e.airing_id, e.title, e.language,
                )  # fmt: skip
            case AiringRestored():  # planned again, with the status it had before the bump
                await self._status(conn, e.airing_id, e.status)

    async def _as_run(self, conn: asyncpg.Connection, e: AiringConfirmed | ConfirmationCorrected, at) -> None:
        """An as-run record, unless a later one (a correction that overtook it on the way) is known."""
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        s = self.schema
        await conn.execute(
            f"""insert into {s}.airings (airing_id, status, actual_start, actual_end, reason, as_run_at)
                values ($1, $2, $3, $4, $5, $6)
                on conflict (airing_id) do update set status = excluded.status,
                    actual_start = excluded.actual_start, actual_end = excluded.actual_end,
                    reason = excluded.reason, as_run_at = excluded.as_run_at
                where {s}.airings.as_run_at is null or {s}.airings.as_run_at <= excluded.as_run_at""",
            e.airing_id, e.outcome.value, e.actual_start, e.actual_end, e.reason, at,
        )  # fmt: skip

    async def _status(self, conn: asyncpg.Connection, airing_id, status: str, **values) -> None:
        names = ["status", *values]
        params = [status, *values.values()]
        columns = ", ".join(names)
        placeholders = ", ".join(f"${i + 2}" for i in range(len(names)))
        updates = ", ".join(f"{n} = excluded.{n}" for n in names)
        await conn.execute(
            f"""insert into {self.schema}.airings (airing_id, {columns}) values ($1, {placeholders})
                on conflict (airing_id) do update set {updates}""",
            airing_id,
            *params,
        )
