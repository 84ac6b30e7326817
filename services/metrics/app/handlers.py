"""Samples into the metrics log, in batches: checked one by one, stored once.

Event ids derive from the sample's content (airing, time, source, counters), so
a batch sent again, by HTTP retry or AMQP redelivery, stores nothing twice.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from contracts.envelope import EventMetadata
from contracts.events.metrics import SampleRecorded
from services.eventstore.codec import encode_many
from services.eventstore.port import Expect, StreamAppend
from services.eventstore.postgres import PostgresEventStore
from services.metrics.domain.samples import Rejection, check_batch

SAMPLE_IDS = uuid.UUID("8e2b1c4d-5a6f-4b7c-9d8e-0f1a2b3c4d5e")


def sample_id(sample: SampleRecorded) -> uuid.UUID:
    counters = orjson.dumps(sample.counters, option=orjson.OPT_SORT_KEYS).decode()
    return uuid.uuid5(
        SAMPLE_IDS, f"{sample.airing_id}|{sample.sampled_at.isoformat()}|{sample.source}|{counters}"
    )


def stream_of(airing_id: uuid.UUID) -> str:
    return f"samples-{airing_id}"


class SampleIngestor:
    """Checks batches of samples against the airings the metrics log knows and appends the valid ones."""

    def __init__(self, store: PostgresEventStore, read_schema: Callable[[], str]) -> None:
        self.store = store
        self.read_schema = read_schema

    async def known(self, conn: asyncpg.Connection, items: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
        ids = set()
        for item in items:
            try:
                ids.add(uuid.UUID(str(item.get("airing_id"))))
            except (ValueError, AttributeError):
                continue
        if not ids:
            return set()
        rows = await conn.fetch(
            f"select airing_id from {self.read_schema()}.airings where airing_id = any($1::uuid[])", list(ids)
        )
        found = {r["airing_id"] for r in rows}
        return found

    async def ingest(
        self, items: Sequence[dict[str, Any]], metadata: EventMetadata, now: datetime | None = None
    ) -> tuple[int, list[Rejection], int]:
        """(samples accepted, rejections, last position written)."""
        async with self.store.pool.acquire() as conn:
            known = await self.known(conn, items)
        accepted, rejected = check_batch(list(items), known.__contains__, now or datetime.now(UTC))
        position = await self.append(accepted, metadata)
        return len(accepted), rejected, position

    async def append(self, samples: list[SampleRecorded], metadata: EventMetadata) -> int:
        """Append samples not stored yet, grouped per airing, in one transaction."""
        if not samples:
            return 0
        unique = {sample_id(s): s for s in samples}
        async with self.store.pool.acquire() as conn:
            stored = await conn.fetch(
                f"select event_id from {self.store.schema}.events where event_id = any($1::uuid[])",
                list(unique),
            )
        for row in stored:
            unique.pop(row["event_id"], None)
        if not unique:
            return 0
        per_airing: dict[uuid.UUID, list[tuple[uuid.UUID, SampleRecorded]]] = defaultdict(list)
        for event_id, sample in unique.items():
            per_airing[sample.airing_id].append((event_id, sample))
        appends = [
            StreamAppend(
                stream_of(airing_id),
                encode_many([s for _, s in pairs], metadata, [i for i, _ in pairs]),
                Expect.ANY,
            )
            for airing_id, pairs in per_airing.items()
        ]
        results = await self.store.append_batch(appends)
        return max(r.last_position for r in results)
