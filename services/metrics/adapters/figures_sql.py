"""Figures to and from PostgreSQL: samples read straight from the log's stored JSON (the rebuild's hot
path, through the store's ``scan``) and figures merged into a generation's table, both by the rule of
``domain.figures``."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import orjson

from contracts.events.metrics import SampleRecorded
from services.metrics.domain.figures import Figures

SAMPLE = SampleRecorded.wire_name
SAMPLE_VERSION = SampleRecorded.schema_version


def add_stored(
    figures: Figures, rows: list, fromisoformat=datetime.fromisoformat, loads=orjson.loads
) -> list[tuple[str, int, str]]:
    """Fold a page of the log, as the store's ``scan`` gives it ((position, type, version, payload
    JSON) each), into ``figures``: the readings of current-version samples are taken from their
    stored JSON (the rebuild's hot path, so nothing is validated: the payload was, when it was
    written). (type, version, payload) of every other event is returned, in order."""
    samples, others = [], []
    for _, kind, version, payload in rows:
        if kind == SAMPLE and version == SAMPLE_VERSION:
            samples.append(loads(payload))
        else:
            others.append((kind, version, payload))
    figures.add_all((s["airing_id"], fromisoformat(s["sampled_at"]), s["counters"]) for s in samples)
    return others


async def write_figures(conn: asyncpg.Connection, schema: str, figures: Figures) -> None:
    """Merge ``figures`` into ``schema``'s table (one statement), then forget them.

    The table keeps the greater reading, by the row comparison ``(sampled_at, value)``: the
    order of :mod:`services.metrics.domain.figures`, so batches, passes and flushes may come in
    any order and still give the same table.
    """
    if not figures.held:
        return
    # Keys are ids as the JSON spelled them: one airing spelled two ways is merged here,
    # since one statement may not touch a row twice.
    merged = figures.take(uuid.UUID).held
    airings, counters, times, values = [], [], [], []
    for airing_id, per in merged.items():
        for name, (at, value) in per.items():
            airings.append(airing_id)
            counters.append(name)
            times.append(at)
            values.append(value)
    await conn.execute(
        f"""insert into {schema}.figures (airing_id, counter, value, sampled_at)
            select * from unnest($1::uuid[], $2::text[], $3::bigint[], $4::timestamptz[])
            on conflict (airing_id, counter) do update set value = excluded.value,
                sampled_at = excluded.sampled_at
            where (excluded.sampled_at, excluded.value) > ({schema}.figures.sampled_at,
                                                           {schema}.figures.value)""",
        airings, counters, values, times,
    )  # fmt: skip
