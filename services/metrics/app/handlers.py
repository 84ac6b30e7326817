"""The metrics service's commands, one async function each, typed on the event-store port.

Recording samples: each item of a batch is checked on its own (``domain.samples``),
the valid ones not stored yet are appended in one write, grouped per airing's
stream. Event ids derive from a sample's content, so a batch sent again, by HTTP
retry or AMQP redelivery, stores nothing twice.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import EventMetadata
from contracts.events.metrics import SampleRecorded
from services.eventstore.codec import encode_many
from services.eventstore.port import EventStore, Expect, StreamAppend
from services.metrics.app.queries import StatisticsQueries
from services.metrics.domain.samples import Rejection, check_batch, sample_id, samples_stream

KnownAirings = Callable[[set[uuid.UUID]], Awaitable[set[uuid.UUID]]]
"""Which of these airings the metrics log knows (a read-model query)."""

CatchUp = Callable[[], Awaitable[None]]
"""Return once the read model reflects what the log holds now, or after a bounded wait."""


@dataclass(frozen=True)
class SamplesRecorded:
    """What became of a batch: how many samples were valid, why the others were not, and the last
    position written (0 when nothing new was stored)."""

    accepted: int
    rejected: list[Rejection]
    position: int


async def record_samples(
    store: EventStore,
    known_airings: KnownAirings,
    items: Sequence[dict[str, Any]],
    metadata: EventMetadata,
    now: datetime | None = None,
    *,
    catch_up: CatchUp | None = None,
) -> SamplesRecorded:
    """Check a batch of samples (the JSON of ``SampleIn``) and append the valid ones not stored yet.

    ``catch_up``: asked before an airing is refused as unknown. The read model follows the log a
    moment later, so an airing whose schedule the log already holds may not be listed yet; a
    collector that samples an airing just planned must not be told it does not exist."""
    ids = airing_ids_in(items)
    known = await known_airings(ids)
    if catch_up is not None and len(known) < len(ids):
        await catch_up()
        known = await known_airings(ids)
    accepted, rejected = check_batch(list(items), known.__contains__, now or datetime.now(UTC))
    position = await append_samples(store, accepted, metadata)
    return SamplesRecorded(len(accepted), rejected, position)


async def read_model_caught_up(store: EventStore, queries: StatisticsQueries, timeout: float = 2.0) -> None:
    """Wait, at most ``timeout`` s, until the read model reflects the log's last position now (a
    read model that does not get there, halted or far behind, answers as it stands)."""
    try:
        await queries.wait_until(await store.head_position(), timeout)
    except TimeoutError:
        pass


def airing_ids_in(items: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """The airing ids the items name (those that are not ids are refused item by item later)."""
    ids = set()
    for item in items:
        try:
            ids.add(uuid.UUID(str(item.get("airing_id"))))
        except (ValueError, AttributeError):
            continue
    return ids


async def append_samples(store: EventStore, samples: list[SampleRecorded], metadata: EventMetadata) -> int:
    """Append the samples not stored yet, grouped per airing, in one write; the last position."""
    if not samples:
        return 0
    unique = {sample_id(s): s for s in samples}
    for stored in await store.stored_event_ids(list(unique)):
        unique.pop(stored, None)
    if not unique:
        return 0
    per_airing: dict[uuid.UUID, list[tuple[uuid.UUID, SampleRecorded]]] = defaultdict(list)
    for event_id, sample in unique.items():
        per_airing[sample.airing_id].append((event_id, sample))
    appends = [
        StreamAppend(
            samples_stream(airing_id),
            encode_many([s for _, s in pairs], metadata, [i for i, _ in pairs]),
            Expect.ANY,
        )
        for airing_id, pairs in per_airing.items()
    ]
    results = await store.append_batch(appends)
    return max(r.last_position for r in results)
