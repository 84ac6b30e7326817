"""The statistics read model: tables built from the metrics log alone.

The tables live in a schema of their own (a *generation*), so that a rebuild
can fill fresh tables from the log while dashboards keep reading the current
ones, and an as-of query can build tables up to a past position. Rows and the
subscription's checkpoint commit together: a crash never double-counts.

Scheduler events may arrive out of order (a retried message overtakes
another): an airing's status events create its row if needed, and its
AiringScheduled fills in the details without undoing a status already known.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import datetime
from typing import Any

import asyncpg

from contracts.events import REGISTRY
from contracts.events.metrics import SampleRecorded
from contracts.events.reference import CampaignPlanned, ResourceDescribed
from contracts.events.schedule import (
    AiringBumped,
    AiringCancelled,
    AiringConfirmed,
    AiringRescheduled,
    AiringScheduled,
    LivestreamEnded,
    LivestreamWentLive,
)
from services.eventstore.codec import decode
from services.eventstore.port import RecordedEvent

TABLES = """
create schema if not exists {s};
create table if not exists {s}.resources (
    resource_id text primary key,
    type        text not null,
    name        text not null,
    province    text not null,
    platform    text,
    code        text,
    languages   text[] not null default '{}'
);
create table if not exists {s}.campaigns (
    campaign_id uuid primary key,
    name        text not null,
    province    text not null,
    starts_on   date not null,
    ends_on     date not null,
    communes    text[] not null
);
create table if not exists {s}.airings (
    airing_id   uuid primary key,
    resource_id text,
    kind        text,
    title       text,
    language    text,
    campaign_id uuid,
    starts_at   timestamptz,
    ends_at     timestamptz,
    status      text not null default 'scheduled',
    actual_start timestamptz,
    actual_end  timestamptz,
    reason      text
);
create index if not exists airings_campaign on {s}.airings (campaign_id);
create index if not exists airings_start on {s}.airings (starts_at);
create table if not exists {s}.figures (
    airing_id   uuid not null,
    counter     text not null,
    value       bigint not null,
    sampled_at  timestamptz not null,
    primary key (airing_id, counter)
);
create table if not exists {s}.history (
    airing_id   uuid not null,
    counter     text not null,
    sampled_at  timestamptz not null,
    value       bigint not null,
    source      text not null,
    position    bigint not null
);
"""
INDEXES = """
create index if not exists history_airing on {s}.history (airing_id, counter, sampled_at);
"""

SAMPLE = SampleRecorded.wire_name
STATUS_OF = {
    AiringCancelled: "cancelled",
    AiringBumped: "bumped",
    LivestreamWentLive: "live",
    LivestreamEnded: "ended",
}


async def create_tables(conn: asyncpg.Connection, schema: str, *, indexes: bool = True) -> None:
    """The generation's tables; a bulk build asks for the history index only once it is filled
    (building an index once is far cheaper than maintaining it row by row)."""
    lock = zlib.crc32(f"loa.metrics.readmodel.{schema}".encode())
    await conn.execute("select pg_advisory_lock($1)", lock)
    try:
        await conn.execute(TABLES.replace("{s}", schema))
        if indexes:
            await conn.execute(INDEXES.replace("{s}", schema))
    finally:
        await conn.execute("select pg_advisory_unlock($1)", lock)


class StatisticsProjection:
    """Applies the metrics log to the tables of one generation schema.

    ``on_change`` (optional) receives, after each batch is applied, the airings
    whose figures or status changed, for the live feed.
    """

    def __init__(self, schema: str, *, bulk: bool = False) -> None:
        """``bulk``: a build from the log into fresh tables; figures are computed once, by
        :meth:`finish`, from the history instead of being upserted batch after batch."""
        self.schema = schema
        self.bulk = bulk

    async def __call__(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        # Samples are most of the log: current-version ones are read straight from the stored JSON
        # (validated when written) instead of through their contract, which costs more than the SQL.
        samples: list[tuple[Any, datetime, dict[str, int], str, int]] = []
        scheduled: list[AiringScheduled] = []
        for recorded in events:
            if recorded.type == SAMPLE and recorded.schema_version == SampleRecorded.schema_version:
                d = recorded.data
                sampled_at = datetime.fromisoformat(d["sampled_at"])
                samples.append((uuid.UUID(d["airing_id"]), sampled_at, d["counters"], d["source"],
                                recorded.global_position))  # fmt: skip
                continue
            event = decode(REGISTRY, recorded).data
            if isinstance(event, AiringScheduled) and self.bulk:
                scheduled.append(event)
                continue
            if scheduled:
                await self._scheduled(conn, scheduled)
                scheduled = []
            if isinstance(event, SampleRecorded):
                samples.append((event.airing_id, event.sampled_at, event.counters, event.source,
                                recorded.global_position))  # fmt: skip
                continue
            if samples:
                await self._samples(conn, samples)
                samples = []
            await self.apply(conn, event)
        if scheduled:
            await self._scheduled(conn, scheduled)
        if samples:
            await self._samples(conn, samples)

    async def _scheduled(self, conn: asyncpg.Connection, run: list[AiringScheduled]) -> None:
        """A run of AiringScheduled in one statement (a rebuild meets thousands in a row)."""
        rows = {e.airing_id: e for e in run}.values()
        await conn.execute(
            f"""insert into {self.schema}.airings (airing_id, resource_id, kind, title, language, campaign_id,
                    starts_at, ends_at)
                select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                    $7::timestamptz[], $8::timestamptz[])
                on conflict (airing_id) do update set resource_id = excluded.resource_id,
                    kind = excluded.kind, title = excluded.title, language = excluded.language,
                    campaign_id = excluded.campaign_id,
                    starts_at = coalesce({self.schema}.airings.starts_at, excluded.starts_at),
                    ends_at = coalesce({self.schema}.airings.ends_at, excluded.ends_at)""",
            [e.airing_id for e in rows], [e.resource_id for e in rows], [e.kind.value for e in rows],
            [e.title for e in rows], [e.language for e in rows], [e.campaign_id for e in rows],
            [e.starts_at for e in rows], [e.ends_at for e in rows],
        )  # fmt: skip

    async def finish(self, conn: asyncpg.Connection) -> None:
        """After a bulk build: every figure from the history, by the same rule (newest, then larger)."""
        s = self.schema
        await conn.execute(f"truncate {s}.figures")
        await conn.execute(
            f"""insert into {s}.figures (airing_id, counter, value, sampled_at)
                select distinct on (airing_id, counter) airing_id, counter, value, sampled_at
                from {s}.history order by airing_id, counter, sampled_at desc, value desc"""
        )

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
                            starts_at, ends_at)
                        values ($1, $2, $3, $4, $5, $6, $7, $8)
                        on conflict (airing_id) do update set resource_id = $2, kind = $3, title = $4,
                            language = $5, campaign_id = $6,
                            starts_at = coalesce({s}.airings.starts_at, $7),
                            ends_at = coalesce({s}.airings.ends_at, $8)""",
                    e.airing_id, e.resource_id, e.kind.value, e.title, e.language, e.campaign_id,
                    e.starts_at, e.ends_at,
                )  # fmt: skip
            case AiringRescheduled():
                await self._status(conn, e.airing_id, "rescheduled", starts_at=e.starts_at, ends_at=e.ends_at)
            case AiringConfirmed():
                await self._status(
                    conn, e.airing_id, e.outcome.value, actual_start=e.actual_start, actual_end=e.actual_end,
                    reason=e.reason,
                )  # fmt: skip
            case LivestreamWentLive():
                await self._status(conn, e.airing_id, "live", actual_start=e.at)
            case LivestreamEnded():
                await self._status(conn, e.airing_id, "ended", actual_end=e.at)
            case AiringCancelled() | AiringBumped():
                await self._status(conn, e.airing_id, STATUS_OF[type(e)])

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

    async def _samples(self, conn: asyncpg.Connection, samples: list) -> None:
        s = self.schema
        history = [
            (airing_id, name, sampled_at, value, source, position)
            for airing_id, sampled_at, counters, source, position in samples
            for name, value in counters.items()
        ]
        await conn.copy_records_to_table(
            "history",
            schema_name=s,
            records=history,
            columns=["airing_id", "counter", "sampled_at", "value", "source", "position"],
        )
        if self.bulk:
            return  # figures come from the history at the end (finish)
        # Reduce the batch first (one upsert may not touch a row twice), by the rule of
        # services.metrics.domain.samples.merge: the newest reading, the larger at one instant.
        newest: dict[tuple[Any, str], tuple[datetime, int]] = {}
        for airing_id, name, sampled_at, value, _, _ in history:
            held = newest.get((airing_id, name))
            if held is None or (sampled_at, value) > held:
                newest[(airing_id, name)] = (sampled_at, value)
        columns = [
            [k[0] for k in newest],
            [k[1] for k in newest],
            [v[1] for v in newest.values()],
            [v[0] for v in newest.values()],
        ]
        # The stored figure moves only to a newer reading (or a larger one at the same instant).
        await conn.execute(
            f"""insert into {s}.figures (airing_id, counter, value, sampled_at)
                select * from unnest($1::uuid[], $2::text[], $3::bigint[], $4::timestamptz[])
                on conflict (airing_id, counter) do update set value = excluded.value,
                    sampled_at = excluded.sampled_at
                where (excluded.sampled_at, excluded.value) > ({s}.figures.sampled_at, {s}.figures.value)""",
            *columns,
        )
