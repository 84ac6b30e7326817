"""Deciding on a stream and appending what was decided: the one encode-append-retry loop.

Optimistic concurrency: the append expects the version that was read; when another
request wrote first, the command is decided again on the new state. Event ids come
from the request's idempotency key when there is one, so a retried request appends
nothing new.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from contracts.base import Event
from contracts.envelope import EventMetadata
from contracts.events import REGISTRY
from services.eventstore.codec import decode, encode_many, random_ids
from services.eventstore.port import EventStore, NewEvent, RecordedEvent, WrongExpectedVersion
from services.scheduler.domain.bulk import Skipped
from services.scheduler.domain.errors import DomainError

ATTEMPTS = 8
# After a lost race, a pause drawn from a window that doubles each time (1, 2, 4 … ms, at most
# 100 ms): writers that collided retry apart instead of colliding again at once, which under load
# could spend every attempt (a fault test saw 503s with many airings planned on one commune at once).
FIRST_PAUSE, LONGEST_PAUSE = 0.001, 0.1
EVENT_IDS = uuid.UUID("6b0f5d3e-8a4c-4f0e-9d7a-5c3b2a1f0e9d")

S = TypeVar("S")
T = TypeVar("T")


def schedule_stream(resource_id: str) -> str:
    """The stream of a resource's schedule: its airings and series."""
    return f"schedule-{resource_id}"


def resource_stream(resource_id: str) -> str:
    """The stream of a resource's description (type, province, languages, windows)."""
    return f"resource-{resource_id}"


def campaign_stream(campaign_id: uuid.UUID) -> str:
    return f"campaign-{campaign_id}"


@dataclass(frozen=True)
class Recorded(Generic[S]):
    """What a command recorded: the events appended now (none when it was already in effect),
    the last global position written or read, and the aggregate as they leave it."""

    events: list[Event]
    position: int  # the last global position written (or the stream's head when nothing was)
    state: S | None = None
    skipped: list[Skipped] = field(default_factory=list)
    planned: int = 0  # events decided by a bulk plan (whose events are not kept)


class TooBusy(Exception):
    """Other writers kept changing the same streams; the client may try again (HTTP 503)."""


def event_id(metadata: EventMetadata, stream_id: str, index: int, event: Event) -> uuid.UUID:
    """A retried request (same actor and Idempotency-Key) decides the same ids: the store keeps one copy."""
    if metadata.idempotency_key:
        name = f"{metadata.actor}|{metadata.idempotency_key}|{stream_id}|{index}|{event.wire_name}"
        return uuid.uuid5(EVENT_IDS, name)
    return uuid.uuid4()


def encode_decided(events: Sequence[Event], metadata: EventMetadata, stream_id: str) -> list[NewEvent]:
    if metadata.idempotency_key:
        ids = [event_id(metadata, stream_id, i, e) for i, e in enumerate(events)]
    else:
        ids = random_ids(len(events))
    return encode_many(events, metadata, ids)


def contract_events(recorded: Sequence[RecordedEvent]) -> list[Event]:
    return [decode(REGISTRY, r).data for r in recorded]


async def read_newer(store: EventStore, known: Mapping[str, int]) -> dict[str, list[RecordedEvent]]:
    """Each stream's events after the version already known; one query where the store can."""
    many = getattr(store, "read_streams", None)
    if many is not None:
        return await many(list(known), dict(known))
    return {sid: await store.read_stream(sid, from_version=v + 1) for sid, v in known.items()}


async def head_position(store: EventStore, stream_id: str, version: int) -> int:
    """The global position of the stream's event at ``version`` (0 for an empty stream)."""
    if version == 0:
        return 0
    [last] = await store.read_stream(stream_id, from_version=version, limit=1)
    return last.global_position


class _Writers:
    """One writer at a time per stream within this process: requests for one schedule queue here
    instead of racing to the store, where all but one lose and decide again. (Replicas still race:
    the expected version and the retries below settle that.)"""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._waiting: dict[tuple[str, str], int] = {}

    @asynccontextmanager
    async def one_at_a_time(self, key: tuple[str, str]) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]


_WRITERS = _Writers()


async def append_decided(
    store: EventStore,
    stream_id: str,
    load: Callable[[], Awaitable[tuple[S, int, bool]]],
    decision: Callable[[S], tuple[list[Event], T]],
    metadata: EventMetadata,
    after: Callable[[S, int, list[Event]], S],
) -> tuple[Recorded[S], T]:
    """Load the stream's state, decide, append expecting the version decided on; on a race, again.

    ``load`` answers the state, its version and whether it was read from the store just now; a
    state it remembered instead is good enough to append on (the expected version catches a stale
    one), but a refusal or a no-op decided on it is decided again on the stream as read.
    ``after(state, version, events)`` is the state the events leave (and where a cache keeps it).
    The answer returned is the one decided on the state the events were appended to.
    """
    async with _WRITERS.one_at_a_time((store.schema, stream_id)):
        for attempt in range(ATTEMPTS):
            state, version, read = await load()
            try:
                events, answer = decision(state)
            except DomainError:
                if read:
                    raise
                continue
            if not events:
                if not read:
                    continue
                # Already in effect (a retry, perhaps to another replica, of a command that was recorded).
                return Recorded([], await head_position(store, stream_id, version), state), answer
            try:
                result = await store.append(stream_id, encode_decided(events, metadata, stream_id), version)
            except WrongExpectedVersion:
                await asyncio.sleep(random.uniform(0, min(LONGEST_PAUSE, FIRST_PAUSE * 2**attempt)))
                continue
            if result.duplicate:  # this very request was recorded before: answer from the stream as it is
                state, _, _ = await load()
                return Recorded([], result.last_position, state), answer
            return Recorded(events, result.last_position, after(state, version, events)), answer
        raise TooBusy(f"{stream_id}: too many concurrent writers, try again")


async def record(
    store: EventStore,
    stream_id: str,
    decision: Callable[[list[Event]], list[Event]],
    metadata: EventMetadata,
) -> Recorded[list[Event]]:
    """Run ``decision`` on a (short) stream's whole history and append its events (a resource's
    description, a campaign, a grant, a revocation)."""

    async def load() -> tuple[list[Event], int, bool]:
        history = contract_events(await store.read_stream(stream_id))
        return history, len(history), True

    recorded, _ = await append_decided(
        store,
        stream_id,
        load,
        lambda history: (decision(history), None),
        metadata,
        lambda history, _version, events: [*history, *events],
    )
    return recorded


class Records:
    """Records decisions on short streams (a resource's description, a campaign, a grant, a token
    revocation), each decided on the stream's whole history."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def record(
        self, stream_id: str, decision: Callable[[list[Event]], list[Event]], metadata: EventMetadata
    ) -> Recorded[list[Event]]:
        return await record(self.store, stream_id, decision, metadata)
