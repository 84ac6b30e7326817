"""The planning catalogue read model: resources, campaigns and series, fed by their events.

Descriptions are kept whole as JSON next to the columns that queries filter on;
the rows move with the subscription's checkpoint like the airings table.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.events import REGISTRY
from contracts.events.reference import CampaignPlanned, ResourceDescribed
from contracts.events.series import SeriesEnded, SeriesExtended, SeriesPlanned, SeriesRevised
from services.common.sql import forward_update
from services.eventstore.codec import decode
from services.eventstore.port import RecordedEvent

TABLES = """
create table if not exists {s}.resources (
    resource_id text primary key,
    type        text not null,
    name        text not null,
    province    text not null,
    code        text,
    description jsonb not null,
    position    bigint not null
);
create index if not exists resources_province on {s}.resources (province, type, resource_id);
create index if not exists resources_province_page on {s}.resources (province, resource_id);
create table if not exists {s}.campaigns (
    campaign_id uuid primary key,
    name        text not null,
    province    text not null,
    starts_on   date not null,
    ends_on     date not null,
    definition  jsonb not null,
    position    bigint not null
);
create index if not exists campaigns_page on {s}.campaigns (starts_on desc, name, campaign_id);
create table if not exists {s}.series (
    series_id   uuid primary key,
    resource_id text not null,
    kind        text not null,
    campaign_id uuid,
    definition  jsonb not null,
    effective_from timestamp not null,
    ended_from  timestamp,
    through     timestamptz,
    skipped     jsonb not null default '[]',
    position    bigint not null
);
create index if not exists series_resource on {s}.series (resource_id);
create index if not exists series_campaign on {s}.series (campaign_id) where campaign_id is not null;
create index if not exists series_through on {s}.series (through) where ended_from is null;
"""

TYPES = ("schedule.ResourceDescribed", "schedule.CampaignPlanned", "schedule.Series")


def _json(model) -> dict:
    return model.model_dump(mode="json")  # jsonb travels as Python objects (the store's codec)


JSONB = frozenset({"description", "definition", "skipped"})


def _param(number: int, column: str) -> str:
    return f"${number}::jsonb" if column in JSONB else f"${number}"


class CatalogueProjection:
    """Applies reference, campaign and series events to their tables."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def __call__(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        for recorded in events:
            if recorded.type.startswith(TYPES):
                await self.apply(conn, decode(REGISTRY, recorded).data, recorded.global_position)

    async def apply(self, conn: asyncpg.Connection, e: Any, position: int) -> None:
        s = self.schema
        match e:
            case ResourceDescribed():
                d = e.description
                await self._upsert(
                    conn, "resources", position, resource_id=e.resource_id, type=d.type.value, name=d.name,
                    province=d.province, code=d.code, description=_json(d),
                )  # fmt: skip
            case CampaignPlanned():
                d = e.definition
                await self._upsert(
                    conn, "campaigns", position, campaign_id=e.campaign_id, name=d.name, province=d.province,
                    starts_on=d.starts_on, ends_on=d.ends_on, definition=_json(d),
                )  # fmt: skip
            case SeriesPlanned():
                await conn.execute(
                    f"""insert into {s}.series (series_id, resource_id, kind, campaign_id, definition,
                            effective_from, position)
                        values ($1, $2, $3, $4, $5::jsonb, $6, $7) on conflict (series_id) do nothing""",
                    e.series_id, e.resource_id, e.kind.value, e.campaign_id, _json(e.definition),
                    e.definition.first_start, position,
                )  # fmt: skip
            case SeriesRevised():
                await self._set(
                    conn,
                    e.series_id,
                    position,
                    definition=_json(e.definition),
                    effective_from=e.effective_from,
                )
            case SeriesEnded():
                await self._set(conn, e.series_id, position, ended_from=e.effective_from)
            case SeriesExtended():
                skipped = [s.model_dump(mode="json") for s in e.skipped]
                await self._set(conn, e.series_id, position, through=e.through, skipped=skipped)

    async def _upsert(self, conn: asyncpg.Connection, table: str, position: int, **row) -> None:
        """``row``, its key first, as the event at ``position`` describes it, unless a later event
        wrote it already (a replay re-applies events: only move forward)."""
        names = [*row, "position"]
        placeholders = ", ".join(_param(i + 1, n) for i, n in enumerate(names))
        updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
        await conn.execute(
            f"""insert into {self.schema}.{table} ({", ".join(names)}) values ({placeholders})
                on conflict ({names[0]}) do update set {updates}
                where {self.schema}.{table}.position < excluded.position""",
            *row.values(),
            position,
        )

    async def _set(self, conn: asyncpg.Connection, series_id, position: int, **values) -> None:
        update = forward_update(f"{self.schema}.series", "series_id", values, jsonb=JSONB)
        await conn.execute(update, series_id, position, *values.values())

    async def truncate(self, conn: asyncpg.Connection) -> None:
        await conn.execute(f"truncate {self.schema}.resources, {self.schema}.campaigns, {self.schema}.series")


async def resource(conn: asyncpg.Connection, schema: str, resource_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"select * from {schema}.resources where resource_id = $1", resource_id)


async def resources(
    conn: asyncpg.Connection,
    schema: str,
    *,
    province: str | None,
    type: str | None,
    ids: list[str] | None = None,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""select * from {schema}.resources
            where ($1::text is null or province = $1) and ($2::text is null or type = $2)
              and ($3::text[] is null or resource_id = any($3))
            order by resource_id""",
        province,
        type,
        ids,
    )


async def resource_page(
    conn: asyncpg.Connection,
    schema: str,
    *,
    province: str | None,
    type: str | None,
    after: str | None,
    limit: int,
    count: bool = False,
) -> tuple[list[asyncpg.Record], int | None]:
    """Resources in id order after ``after`` (keyset), at most ``limit``; the total when ``count``."""
    filters = "($1::text is null or province = $1) and ($2::text is null or type = $2)"
    total = (
        await conn.fetchval(f"select count(*) from {schema}.resources where {filters}", province, type)
        if count
        else None
    )
    rows = await conn.fetch(
        f"""select * from {schema}.resources where {filters} and ($3::text is null or resource_id > $3)
            order by resource_id limit {int(limit)}""",
        province,
        type,
        after,
    )
    return rows, total


async def campaign_page(
    conn: asyncpg.Connection,
    schema: str,
    *,
    province: str | None,
    after: tuple | None,
    limit: int,
    count: bool = False,
) -> tuple[list[asyncpg.Record], int | None]:
    """Campaigns newest first (starts_on desc, then name, id) after ``after`` = (starts_on, name, id)."""
    total = (
        await conn.fetchval(
            f"select count(*) from {schema}.campaigns where ($1::text is null or province = $1)", province
        )
        if count
        else None
    )
    day, name, campaign_id = after or (None, None, None)
    rows = await conn.fetch(
        f"""select * from {schema}.campaigns where ($1::text is null or province = $1)
              and ($2::date is null or starts_on < $2 or (starts_on = $2 and (name, campaign_id) > ($3, $4)))
            order by starts_on desc, name, campaign_id limit {int(limit)}""",
        province,
        day,
        name,
        campaign_id,
    )
    return rows, total


async def campaign(conn: asyncpg.Connection, schema: str, campaign_id) -> asyncpg.Record | None:
    return await conn.fetchrow(f"select * from {schema}.campaigns where campaign_id = $1", campaign_id)


async def series_row(conn: asyncpg.Connection, schema: str, series_id) -> asyncpg.Record | None:
    return await conn.fetchrow(f"select * from {schema}.series where series_id = $1", series_id)


async def series_of(
    conn: asyncpg.Connection, schema: str, *, resource_id: str | None = None, campaign_id=None
) -> list[asyncpg.Record]:
    """The series of a resource or of a campaign (a feed publishes each as one rule)."""
    column, value = ("resource_id", resource_id) if resource_id is not None else ("campaign_id", campaign_id)
    return await conn.fetch(f"select * from {schema}.series where {column} = $1 order by series_id", value)


async def series_short_of(conn: asyncpg.Connection, schema: str, horizon) -> list[asyncpg.Record]:
    """Live series whose airings do not reach ``horizon`` yet."""
    return await conn.fetch(
        f"""select series_id, resource_id from {schema}.series
            where ended_from is null and (through is null or through < $1) order by series_id""",
        horizon,
    )


async def series_airings(conn: asyncpg.Connection, schema: str, series_id) -> int:
    """How many airings of the series are not cancelled."""
    return await conn.fetchval(
        f"select count(*) from {schema}.airings where series_id = $1 and status not in ('cancelled')",
        series_id,
    )
