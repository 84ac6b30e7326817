"""The tables of one generation of the statistics (a schema of its own: ``<store>_g<N>`` or an
as-of build): resources, campaigns, airings with their status, and each airing's figures."""

from __future__ import annotations

import zlib

import asyncpg

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
    reason      text,
    makeup_of   uuid,
    as_run_at   timestamptz
);
alter table {s}.airings add column if not exists makeup_of uuid;
alter table {s}.airings add column if not exists as_run_at timestamptz;
create index if not exists airings_makeup on {s}.airings (makeup_of) where makeup_of is not null;
create index if not exists airings_campaign on {s}.airings (campaign_id);
create index if not exists airings_start on {s}.airings (starts_at);
create table if not exists {s}.figures (
    airing_id   uuid not null,
    counter     text not null,
    value       bigint not null,
    sampled_at  timestamptz not null,
    primary key (airing_id, counter)
);
"""


async def create_tables(conn: asyncpg.Connection, schema: str) -> None:
    """The generation's tables."""
    lock = zlib.crc32(f"loa.metrics.readmodel.{schema}".encode())
    await conn.execute("select pg_advisory_lock($1)", lock)
    try:
        await conn.execute(TABLES.replace("{s}", schema))
    finally:
        await conn.execute("select pg_advisory_unlock($1)", lock)
