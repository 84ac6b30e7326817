"""Statistics queries over one generation of the read model: totals grouped and filtered.

Every query orders its rows fully, so the same tables always give the same
answer, byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from contracts.events import REGISTRY
from contracts.events.metrics import SampleRecorded
from services.common.sql import VIETNAMESE, where
from services.eventstore.port import EventStore
from services.metrics.adapters.status_sql import PARTIAL_SQL, aired_sql, made_up_sql, missed_sql, planned_sql
from services.metrics.app.queries import Filters
from services.metrics.domain.samples import samples_stream

# group name -> SQL expression (over airings a, resources r, campaigns c)
GROUPS: dict[str, str] = {
    "campaign": "c.name",
    "campaign_id": "a.campaign_id::text",
    "province": "r.province",
    "commune": "case when r.type = 'commune' then r.name end",
    "resource": "a.resource_id",
    "kind": "a.kind",
    "platform": "r.platform",
    "language": "a.language",
    "status": "a.status",
    "day": "to_char(a.starts_at at time zone 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD')",
    "month": "to_char(a.starts_at at time zone 'Asia/Ho_Chi_Minh', 'YYYY-MM')",
}


def filters_where(filters: Filters) -> tuple[str, list[Any]]:
    """The SQL condition (over airings a, resources r) of ``filters``, and its arguments."""
    return where(
        (
            ("a.campaign_id", filters.campaign_id, "="),
            ("a.resource_id", filters.resource_id, "="),
            ("a.kind", filters.kind, "="),
            ("a.language", filters.language, "="),
            ("r.province", filters.province, "="),
            ("a.starts_at", filters.starts_from, ">="),
            ("a.starts_at", filters.starts_before, "<"),
        )
    )


def _source(schema: str) -> str:
    return (
        f"{schema}.airings a left join {schema}.resources r on r.resource_id = a.resource_id "
        f"left join {schema}.campaigns c on c.campaign_id = a.campaign_id"
    )


async def statistics(
    conn: asyncpg.Connection, schema: str, group_by: list[str], filters: Filters
) -> list[dict[str, Any]]:
    """Rows of airing counts and counter sums per group, ordered by the group keys."""
    # Collated keys: communes, campaigns and languages come in Vietnamese order, as the report lists them.
    keys = [f"({GROUPS[g]}) {VIETNAMESE} as g{i}" for i, g in enumerate(group_by)]
    key_refs = [f"g{i}" for i in range(len(group_by))]
    select_keys = (", ".join(keys) + ", ") if keys else ""
    group = ("group by " + ", ".join(key_refs)) if key_refs else ""
    order = ("order by " + ", ".join(f"{k} nulls last" for k in key_refs)) if key_refs else ""
    where, args = filters_where(filters)
    counts = await conn.fetch(
        f"""select {select_keys}
                count(*) filter (where {planned_sql(schema)}) as planned,
                count(*) filter (where {aired_sql(schema)}) as aired,
                count(*) filter (where {missed_sql(schema)}) as missed,
                count(*) filter (where {made_up_sql(schema)}) as made_up,
                count(*) filter (where {PARTIAL_SQL}) as partial,
                count(*) filter (where a.status = 'bumped') as bumped,
                count(*) filter (where a.status = 'cancelled') as cancelled,
                count(distinct a.resource_id) filter (
                    where a.kind = 'loudspeaker' and {aired_sql(schema)}) as communes_reached
            from {_source(schema)} {where} {group} {order}""",
        *args,
    )
    sums = await conn.fetch(
        f"""select {select_keys} f.counter, sum(f.value) as total
            from {_source(schema)} join {schema}.figures f on f.airing_id = a.airing_id
            {where} {("group by " + ", ".join([*key_refs, "f.counter"]))} order by f.counter""",
        *args,
    )
    counters: dict[tuple, dict[str, int]] = {}
    for row in sums:
        key = tuple(row[k] for k in key_refs)
        counters.setdefault(key, {})[row["counter"]] = int(row["total"])  # numeric: no overflow
    rows = []
    for row in counts:
        key = tuple(row[k] for k in key_refs)
        rows.append(
            {
                "keys": dict(zip(group_by, key, strict=True)),
                "airings_planned": row["planned"],
                "airings_aired": row["aired"],
                "airings_missed": row["missed"],
                "airings_made_up": row["made_up"],
                "airings_partial": row["partial"],
                "airings_bumped": row["bumped"],
                "airings_cancelled": row["cancelled"],
                "communes_reached": row["communes_reached"],
                "counters": dict(sorted(counters.get(key, {}).items())),
            }
        )
    return rows


async def airing_metrics(
    conn: asyncpg.Connection, schema: str, airing_id: UUID, *, store: EventStore, position: int
) -> dict[str, Any] | None:
    """An airing's status and figures in ``schema``, and its readings in the log up to ``position``."""
    airing = await conn.fetchrow(
        f"select airing_id, title, kind, resource_id, campaign_id, status from {schema}.airings "
        "where airing_id = $1",
        airing_id,
    )
    if airing is None:
        return None
    figures = await conn.fetch(
        f"select counter, value from {schema}.figures where airing_id = $1 order by counter", airing_id
    )
    history = await airing_history(store, airing_id, position)
    return {**dict(airing), "counters": {f["counter"]: f["value"] for f in figures}, "history": history}


async def airing_history(
    store: EventStore, airing_id: UUID, position: int
) -> dict[str, list[dict[str, Any]]]:
    """Each counter's readings, oldest first, straight from the log: an airing's samples are its
    stream (:func:`services.metrics.domain.samples.samples_stream`)."""
    readings = []
    for e in await store.read_stream(samples_stream(airing_id), until=position):
        if e.type != SampleRecorded.wire_name:
            continue
        if e.schema_version == SampleRecorded.schema_version:
            d = e.data
            sampled_at, source, counters = datetime.fromisoformat(d["sampled_at"]), d["source"], d["counters"]
        else:
            sample = REGISTRY.decode(SampleRecorded.wire_name, e.schema_version, e.data)
            sampled_at, source, counters = sample.sampled_at, sample.source, sample.counters
        readings += [(name, sampled_at, e.global_position, value, source) for name, value in counters.items()]
    readings.sort(key=lambda x: x[:3])
    series: dict[str, list[dict[str, Any]]] = {}
    for name, sampled_at, _, value, source in readings:
        series.setdefault(name, []).append({"sampled_at": sampled_at, "value": value, "source": source})
    return series
