"""The airings read model: one row per airing, fed by the schedule's events.

Rows and the subscription's checkpoint commit together. ``rebuild`` empties the
table and the checkpoint, so the subscription replays the whole log into it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contracts.events import REGISTRY
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
from contracts.events.series import SeriesRevised
from contracts.events.status import PLANNED, sql_set
from services.common.sql import forward_update, where
from services.eventstore.checkpoints import CheckpointStore
from services.eventstore.codec import decode
from services.eventstore.port import RecordedEvent
from services.scheduler.adapters import catalogue

NAME = "airings-read-model"
SCHEDULED = AiringScheduled.wire_name

TABLE = """
create table if not exists {s}.airings (
    airing_id   uuid primary key,
    resource_id text not null,
    kind        text not null,
    starts_at   timestamptz not null,
    ends_at     timestamptz not null,
    title       text not null,
    topic       text,
    language    text,
    campaign_id uuid,
    series_id   uuid,
    recurrence_id timestamp,
    priority    text not null,
    status      text not null,
    script      text,
    audio_ref   text,
    actual_start timestamptz,
    actual_end  timestamptz,
    reason      text,
    operator    text,
    position    bigint not null,
    makeup_of   uuid
);
alter table {s}.airings add column if not exists makeup_of uuid;
alter table {s}.airings add column if not exists bumped_by uuid;
alter table {s}.airings add column if not exists bumped_by_title text;
create index if not exists airings_makeup on {s}.airings (makeup_of) where makeup_of is not null;
-- (x, starts_at) indexes gave way to the keyset ones below, which serve the same queries
drop index if exists {s}.airings_resource_start;
drop index if exists {s}.airings_campaign;
drop index if exists {s}.airings_start;
-- keyset pages: (starts_at, airing_id) is the lists' order, whole or within a filter
create index if not exists airings_page on {s}.airings (starts_at, airing_id);
create index if not exists airings_resource_page on {s}.airings (resource_id, starts_at, airing_id);
create index if not exists airings_campaign_page on {s}.airings (campaign_id, starts_at, airing_id);
create index if not exists airings_status_page on {s}.airings (status, starts_at, airing_id);
create index if not exists airings_series on {s}.airings (series_id, recurrence_id)
    where series_id is not null;
"""

VIEW_COLUMNS = (
    "airing_id, kind, resource_id, starts_at, ends_at, title, topic, language, campaign_id, series_id, "
    "recurrence_id, priority, status, script, audio_ref, actual_start, actual_end, reason, operator, "
    "bumped_by, bumped_by_title"
)


async def create_tables(conn: asyncpg.Connection, schema: str) -> None:
    lock = zlib.crc32(f"loa.readmodel.{schema}".encode())
    await conn.execute("select pg_advisory_lock($1)", lock)
    try:
        await conn.execute(TABLE.replace("{s}", schema))
        await conn.execute(catalogue.TABLES.replace("{s}", schema))
    finally:
        await conn.execute("select pg_advisory_unlock($1)", lock)


class AiringsProjection:
    """Applies schedule events to ``<schema>.airings``, and through the catalogue to its tables."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.catalogue = catalogue.CatalogueProjection(schema)

    async def __call__(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        # Fan-outs append thousands of AiringScheduled in a row: insert each run in one statement,
        # straight from the stored JSON (it was validated when it was written).
        run: list[tuple[dict, int]] = []
        for recorded in events:
            if not recorded.type.startswith("schedule."):
                continue
            if recorded.type == SCHEDULED and recorded.schema_version == AiringScheduled.schema_version:
                run.append((recorded.data, recorded.global_position))
                continue
            if run:
                await self._insert_scheduled(conn, run)
                run = []
            await self.apply(conn, decode(REGISTRY, recorded).data, recorded.global_position)
        if run:
            await self._insert_scheduled(conn, run)
        await self.catalogue(conn, events)

    async def _insert_scheduled(self, conn: asyncpg.Connection, run: list[tuple[dict, int]]) -> None:
        columns = list(zip(*(
            (e["airing_id"], e["resource_id"], e["kind"], e["starts_at"], e["ends_at"], e["title"],
             e.get("topic"), e.get("language"), e.get("campaign_id"), e.get("series_id"),
             e.get("priority", "normal"), e.get("script"), e.get("audio_ref"), e.get("recurrence_id"),
             position, e.get("makeup_of"))
            for e, position in run
        ), strict=True))  # fmt: skip
        await conn.execute(
            f"""insert into {self.schema}.airings (airing_id, resource_id, kind, starts_at, ends_at, title,
                    topic, language, campaign_id, series_id, priority, script, audio_ref, recurrence_id,
                    position, makeup_of, status)
                select *, 'scheduled' from unnest($1::text[]::uuid[], $2::text[], $3::text[],
                    $4::text[]::timestamptz[], $5::text[]::timestamptz[], $6::text[], $7::text[], $8::text[],
                    $9::text[]::uuid[], $10::text[]::uuid[], $11::text[], $12::text[], $13::text[],
                    $14::text[]::timestamp[], $15::bigint[], $16::text[]::uuid[])
                on conflict (airing_id) do nothing""",
            *columns,
        )

    async def apply(self, conn: asyncpg.Connection, e: Any, position: int) -> None:
        match e:
            case AiringScheduled():
                await self._insert_scheduled(conn, [(e.model_dump(mode="json"), position)])
            case AiringRescheduled():
                await self._set(conn, e.airing_id, position, starts_at=e.starts_at, ends_at=e.ends_at,
                                status="rescheduled", reason=e.reason)  # fmt: skip
            case AiringCancelled():
                await self._set(conn, e.airing_id, position, status="cancelled", reason=e.reason)
            case AiringBumped():
                await self._set(
                    conn, e.airing_id, position, status="bumped", reason=f"bumped by {e.bumped_by_title}",
                    bumped_by=e.bumped_by, bumped_by_title=e.bumped_by_title,
                )  # fmt: skip
            case AiringContentChanged():
                await self._set(conn, e.airing_id, position, title=e.title, topic=e.topic,
                                language=e.language, script=e.script, audio_ref=e.audio_ref)  # fmt: skip
            case AiringRestored():  # its slot is back; the view no longer names the emergency
                await self._set(
                    conn, e.airing_id, position, status=e.status, reason=None, bumped_by=None,
                    bumped_by_title=None,
                )  # fmt: skip
            case LivestreamWentLive():
                await self._set(
                    conn, e.airing_id, position, status="live", actual_start=e.at, operator=e.operator
                )
            case LivestreamEnded():
                await self._set(
                    conn, e.airing_id, position, status="ended", actual_end=e.at, operator=e.operator
                )
            case AiringConfirmed():
                await self._set(
                    conn, e.airing_id, position, status=e.outcome.value, actual_start=e.actual_start,
                    actual_end=e.actual_end, reason=e.reason, operator=e.operator,
                )  # fmt: skip
            case SeriesRevised():  # occurrences changed by hand, carried to a new RECURRENCE-ID
                for carried in e.overrides:
                    await self._set(conn, carried.airing_id, position, recurrence_id=carried.recurrence_id)
            case ConfirmationCorrected():  # the latest as-run record is the airing's
                await self._set(
                    conn, e.airing_id, position, status=e.outcome.value, actual_start=e.actual_start,
                    actual_end=e.actual_end, reason=e.reason, operator=e.corrected_by,
                )  # fmt: skip

    async def _set(self, conn: asyncpg.Connection, airing_id, position: int, **values) -> None:
        update = forward_update(f"{self.schema}.airings", "airing_id", values)
        await conn.execute(update, airing_id, position, *values.values())

    async def rebuild(self, conn: asyncpg.Connection) -> None:
        """Empty the read model; the subscription then replays the log into it."""
        async with conn.transaction():
            await conn.execute(f"truncate {self.schema}.airings")
            await self.catalogue.truncate(conn)
            await CheckpointStore(self.schema).reset(conn, NAME)


@dataclass(frozen=True)
class AiringQuery:
    resource_id: str | None = None
    campaign_id: Any = None
    series_id: Any = None
    province: str | None = None
    kind: str | None = None
    language: str | None = None
    status: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    limit: int = 100
    offset: int = 0
    descending: bool = False
    after: tuple[datetime, Any] | None = None  # keyset: (starts_at, airing_id) of the last row seen
    count: bool = False


async def find_airings(
    conn: asyncpg.Connection, schema: str, q: AiringQuery
) -> tuple[list[asyncpg.Record], int | None]:
    """Airings in (starts_at, airing_id) order, after ``q.after``; the total only when ``q.count``."""
    clause, args = where(
        (
            ("resource_id", q.resource_id, "="),
            ("campaign_id", q.campaign_id, "="),
            ("series_id", q.series_id, "="),
            ("kind", q.kind, "="),
            ("language", q.language, "="),
            ("status", q.status, "="),
            ("starts_at", q.starts_from, ">="),
            ("starts_at", q.starts_before, "<"),
        )
    )
    if q.province is not None:
        args.append(q.province)
        clause += (" and " if clause else "where ") + (
            f"resource_id in (select resource_id from {schema}.resources where province = ${len(args)})"
        )
    total = await conn.fetchval(f"select count(*) from {schema}.airings {clause}", *args) if q.count else None
    order = "desc" if q.descending else "asc"
    if q.after is not None:
        args += list(q.after)
        # A row comparison walks the (starts_at, airing_id) index from the cursor on: no OFFSET scan.
        clause += (" and " if clause else "where ") + (
            f"(starts_at, airing_id) {'<' if q.descending else '>'} (${len(args) - 1}, ${len(args)})"
        )
    rows = await conn.fetch(
        f"select {VIEW_COLUMNS} from {schema}.airings {clause} "
        f"order by starts_at {order}, airing_id {order} limit {int(q.limit)} offset {int(q.offset)}",
        *args,
    )
    return rows, total


def _feed_query(schema: str, columns: str, resource_id: str | None) -> str:
    column = "resource_id" if resource_id is not None else "campaign_id"
    return f"""select {columns} from {schema}.airings
               where {column} = $1 and starts_at >= $2 and starts_at < $3
               union
               select {columns} from {schema}.airings
               where series_id = any($4::uuid[]) and recurrence_id >= $5 and recurrence_id < $6"""


@dataclass(frozen=True)
class FeedQuery:
    """A feed's airings: those of the resource or campaign starting in [starts_from, starts_before),
    and those of ``series_ids`` whose occurrence (RECURRENCE-ID, local) is in [local_from,
    local_before) even if moved out, so the series' exceptions are complete."""

    resource_id: str | None
    campaign_id: Any
    starts_from: datetime
    starts_before: datetime
    series_ids: list[Any]
    local_from: datetime
    local_before: datetime

    def args(self) -> tuple:
        owner = self.resource_id if self.resource_id is not None else self.campaign_id
        return (
            owner, self.starts_from, self.starts_before, self.series_ids, self.local_from, self.local_before
        )  # fmt: skip


async def feed_airings(conn: asyncpg.Connection, schema: str, q: FeedQuery) -> list[asyncpg.Record]:
    """Every airing of a feed, in start order. No limit: a feed's window is bounded instead."""
    query = _feed_query(schema, f"{VIEW_COLUMNS}, position", q.resource_id)
    return await conn.fetch(f"{query} order by starts_at, airing_id", *q.args())


async def feed_version(conn: asyncpg.Connection, schema: str, q: FeedQuery) -> tuple[int, int, int]:
    """(airings, their latest position, the latest position of any resource): what a feed's ETag is
    made of, without reading its rows (a phone polling an unchanged feed costs this query)."""
    query = _feed_query(schema, "airing_id, position", q.resource_id)
    row = await conn.fetchrow(
        f"""select count(*) as n, coalesce(max(position), 0) as latest,
                   (select coalesce(max(position), 0) from {schema}.resources) as places
            from ({query}) feed""",
        *q.args(),
    )
    return row["n"], row["latest"], row["places"]


async def airing_by_id(conn: asyncpg.Connection, schema: str, airing_id) -> asyncpg.Record | None:
    return await conn.fetchrow(f"select {VIEW_COLUMNS} from {schema}.airings where airing_id = $1", airing_id)


async def airings_with_province(conn: asyncpg.Connection, schema: str, airing_ids) -> list[asyncpg.Record]:
    """The airings among ``airing_ids`` that exist, with their resource and its province."""
    return await conn.fetch(
        f"select a.airing_id, a.resource_id, r.province from {schema}.airings a left "
        f"join {schema}.resources r using (resource_id) where a.airing_id = any($1)",
        list(airing_ids),
    )


async def airings_starting_at(
    conn: asyncpg.Connection, schema: str, resource_ids: list[str], starts: list[datetime]
) -> list[asyncpg.Record]:
    """The airings starting at each (resource, instant) pair given, with the resource's province."""
    return await conn.fetch(
        f"""select a.airing_id, a.resource_id, a.starts_at, a.language, r.province from {schema}.airings a
            left join {schema}.resources r using (resource_id)
            join unnest($1::text[], $2::timestamptz[]) as w(resource_id, starts_at)
              on a.resource_id = w.resource_id and a.starts_at = w.starts_at""",
        resource_ids,
        starts,
    )


async def campaign_counts(conn: asyncpg.Connection, schema: str, campaign_id) -> list[asyncpg.Record]:
    """A campaign's airings counted by resource, language, kind and status, and whether each
    group's airings were made up (by a planned make-up)."""
    return await conn.fetch(
        f"""select a.resource_id, a.language, a.kind, a.status, count(*) as n,
                   exists (select 1 from {schema}.airings m where m.makeup_of = a.airing_id
                           and m.status in {sql_set(PLANNED)}) as made_up
            from {schema}.airings a where a.campaign_id = $1 group by 1, 2, 3, 4, 6""",
        campaign_id,
    )
