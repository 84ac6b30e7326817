"""The scheduler's application service: load a stream, decide, append.

Optimistic concurrency: the append expects the version that was read; when
another request wrote first, the command is decided again on the new state.
Event ids come from the request's idempotency key when there is one, so a
retried request appends nothing new.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from contracts.base import Event
from contracts.envelope import EventMetadata
from contracts.events import REGISTRY
from services.eventstore.codec import decode, encode, encode_many, random_ids
from services.eventstore.port import StreamAppend, WrongExpectedVersion
from services.eventstore.postgres import PostgresEventStore
from services.eventstore.replay import gc_paused
from services.scheduler.domain.as_run import ItemOutcome, confirm_all
from services.scheduler.domain.bulk import Skipped, plan_all
from services.scheduler.domain.commands import Command, ConfirmAiring, ScheduleAiring
from services.scheduler.domain.schedule import ResourceSchedule, decide, fold

ATTEMPTS = 8
EVENT_IDS = uuid.UUID("6b0f5d3e-8a4c-4f0e-9d7a-5c3b2a1f0e9d")

T = TypeVar("T")
Decision = Callable[[list[Event]], list[Event]]
"""Given a stream's history, the events to append (empty: nothing to do)."""


def stream_of(resource_id: str) -> str:
    return f"schedule-{resource_id}"


def resource_stream(resource_id: str) -> str:
    return f"resource-{resource_id}"


def campaign_stream(campaign_id: uuid.UUID) -> str:
    return f"campaign-{campaign_id}"


@dataclass(frozen=True)
class Outcome:
    events: list[Event]
    position: int  # the last global position written (0 when nothing was)
    skipped: list[Skipped] = field(default_factory=list)
    planned: int = 0  # events decided by a bulk plan (whose events are not kept)


class TooBusy(Exception):
    """Other writers kept changing the same streams; the client may try again (HTTP 503)."""


class Scheduler:
    """Decides commands on schedules and records the events.

    Folded schedules are kept in a bounded LRU cache with the version they
    reflect; a load reads only the events after that version, so a long-lived
    commune's schedule is not decoded again on every request. The cache is only
    an optimisation: every append still expects the version it decided on.
    """

    def __init__(self, store: PostgresEventStore, *, cache_events: int = 50_000) -> None:
        self.store = store
        self.cache_events = cache_events
        self._cache: OrderedDict[str, tuple[int, ResourceSchedule]] = OrderedDict()
        self._cached = 0

    def _remember(self, stream_id: str, version: int, state: ResourceSchedule) -> None:
        old = self._cache.pop(stream_id, None)
        if old is not None:
            self._cached -= old[0]
            if old[0] > version:  # a concurrent request already cached a newer one
                version, state = old
        self._cache[stream_id] = (version, state)
        self._cached += version
        while self._cached > self.cache_events and len(self._cache) > 1:
            _, (evicted, _) = self._cache.popitem(last=False)
            self._cached -= evicted

    def _cached_state(self, stream_id: str) -> tuple[int, ResourceSchedule]:
        return self._cache.get(stream_id) or (0, ResourceSchedule())

    async def load(self, resource_id: str) -> tuple[ResourceSchedule, int]:
        stream_id = stream_of(resource_id)
        version, state = self._cached_state(stream_id)
        newer = await self.store.read_stream(stream_id, from_version=version + 1)
        if newer:
            state = fold([decode(REGISTRY, r).data for r in newer], state)
            version += len(newer)
            self._remember(stream_id, version, state)
        return state, version

    async def _head_position(self, stream_id: str, version: int) -> int:
        """The global position of the stream's event at ``version`` (0 for an empty stream)."""
        if version == 0:
            return 0
        [last] = await self.store.read_stream(stream_id, from_version=version, limit=1)
        return last.global_position

    async def execute(self, resource_id: str, command: Command, metadata: EventMetadata) -> Outcome:
        """Decide ``command`` on the resource's current schedule and record what it decided."""
        stream_id = stream_of(resource_id)
        for _ in range(ATTEMPTS):
            state, version = await self.load(resource_id)
            events = decide(state, command)
            if not events:
                # Already in effect (a retry, perhaps to another replica, of a command that was
                # recorded): the answer reads the read model, which must show the stream as decided on.
                return Outcome([], await self._head_position(stream_id, version))
            new = [
                encode(event, metadata, event_id=self._event_id(metadata, stream_id, i, event))
                for i, event in enumerate(events)
            ]
            try:
                result = await self.store.append(stream_id, new, version)
            except WrongExpectedVersion:
                continue
            if result.duplicate:
                return Outcome([], result.last_position)
            self._remember(stream_id, version + len(events), fold(events, state))
            return Outcome(events, result.last_position)
        raise TooBusy(f"{stream_id}: too many concurrent writers, try again")

    async def decide_with(
        self, resource_id: str, decision: Callable[[ResourceSchedule], tuple[list[Event], T]], metadata
    ) -> tuple[Outcome, T]:
        """Like :meth:`execute`, for a rule that answers more than its events (one result per item):
        the answer returned is the one decided on the schedule the events were appended to."""
        stream_id = stream_of(resource_id)
        for _ in range(ATTEMPTS):
            state, version = await self.load(resource_id)
            events, answer = decision(state)
            if not events:
                return Outcome([], await self._head_position(stream_id, version)), answer
            new = [
                encode(event, metadata, event_id=self._event_id(metadata, stream_id, i, event))
                for i, event in enumerate(events)
            ]
            try:
                result = await self.store.append(stream_id, new, version)
            except WrongExpectedVersion:
                continue
            if result.duplicate:
                return Outcome([], result.last_position), answer
            self._remember(stream_id, version + len(events), fold(events, state))
            return Outcome(events, result.last_position), answer
        raise TooBusy(f"{stream_id}: too many concurrent writers, try again")

    async def record(self, stream_id: str, decision: Decision, metadata: EventMetadata) -> Outcome:
        """Run ``decision`` on a (short) stream's whole history and append its events, retrying on a race."""
        for _ in range(ATTEMPTS):
            recorded = await self.store.read_stream(stream_id)
            events = decision([decode(REGISTRY, r).data for r in recorded])
            if not events:
                return Outcome([], recorded[-1].global_position if recorded else 0)
            new = [
                encode(event, metadata, event_id=self._event_id(metadata, stream_id, i, event))
                for i, event in enumerate(events)
            ]
            try:
                result = await self.store.append(stream_id, new, len(recorded))
            except WrongExpectedVersion:
                continue
            return Outcome(events if not result.duplicate else [], result.last_position)
        raise TooBusy(f"{stream_id}: too many concurrent writers, try again")

    async def plan_many(
        self,
        airings: dict[str, list[ScheduleAiring]],
        metadata: EventMetadata,
        *,
        skip_conflicts: bool,
        dry_run: bool = False,
    ) -> Outcome:
        """Schedule airings on many resources in one transaction: all or nothing (or skip conflicts).

        A Conflict from any schedule refuses the whole request unless ``skip_conflicts``;
        ``dry_run`` decides and appends nothing (a preview).
        """
        streams = {stream_of(r): r for r in airings}
        for _ in range(ATTEMPTS):
            known = {sid: self._cached_state(sid) for sid in streams}
            newer = await self.store.read_streams(list(streams), {sid: v for sid, (v, _) in known.items()})
            with gc_paused():  # hundreds of thousands of small objects; no cycles among them
                appends, decided, skipped, after = self._decide_all(
                    streams, known, newer, airings, metadata, skip_conflicts
                )
            if dry_run:
                return Outcome([], 0, skipped, planned=decided)
            if not appends:
                return Outcome([], 0, skipped)
            try:
                results = await self.store.append_batch(appends)
            except WrongExpectedVersion:
                continue
            if all(r.duplicate for r in results):
                return Outcome([], max(r.last_position for r in results), skipped)
            for stream_id, (version, state) in after.items():
                self._remember(stream_id, version, state)
            return Outcome([], max(r.last_position for r in results), skipped, planned=decided)
        raise TooBusy("the schedules kept changing under this plan, try again")

    def _decide_all(self, streams, known, newer, airings, metadata: EventMetadata, skip_conflicts: bool):
        appends: list[StreamAppend] = []
        decided = 0
        skipped: list[Skipped] = []
        after: dict[str, tuple[int, ResourceSchedule]] = {}
        # A national plan is far more than the cache holds: keeping its states would only cost memory.
        cache = sum(len(a) for a in airings.values()) <= self.cache_events
        for stream_id, resource_id in streams.items():
            version, state = known[stream_id]
            if newer[stream_id]:
                state = fold([decode(REGISTRY, r).data for r in newer[stream_id]], state)
                version += len(newer[stream_id])
            plan = plan_all(state, airings[resource_id], skip_conflicts=skip_conflicts)
            skipped += plan.skipped
            if not plan.events:
                continue
            decided += len(plan.events)
            if metadata.idempotency_key:
                ids = [self._event_id(metadata, stream_id, i, e) for i, e in enumerate(plan.events)]
            else:
                ids = random_ids(len(plan.events))
            appends.append(StreamAppend(stream_id, encode_many(plan.events, metadata, ids), version))
            if cache:
                after[stream_id] = (version + len(plan.events), plan.state)
        return appends, decided, skipped, after

    @staticmethod
    def _event_id(metadata: EventMetadata, stream_id: str, index: int, event: Event) -> uuid.UUID:
        if metadata.idempotency_key:
            name = f"{metadata.actor}|{metadata.idempotency_key}|{stream_id}|{index}|{event.wire_name}"
            return uuid.uuid5(EVENT_IDS, name)
        return uuid.uuid4()


class AsRunRecorder:
    """Records many confirmations on many schedules in one transaction, each with its own outcome."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    async def confirm_many(
        self, by_resource: dict[str, list[ConfirmAiring]], metadata: EventMetadata
    ) -> tuple[dict[str, list[ItemOutcome]], int]:
        """Each resource's outcomes, in the order given, and the last position written (0: none)."""
        store, streams = self.scheduler.store, {stream_of(r): r for r in by_resource}
        for _ in range(ATTEMPTS):
            known = {sid: self.scheduler._cached_state(sid) for sid in streams}
            newer = await store.read_streams(list(streams), {sid: v for sid, (v, _) in known.items()})
            appends, outcomes, after = [], {}, {}
            for stream_id, resource_id in streams.items():
                version, state = known[stream_id]
                if newer[stream_id]:
                    state = fold([decode(REGISTRY, r).data for r in newer[stream_id]], state)
                    version += len(newer[stream_id])
                done = confirm_all(state, by_resource[resource_id])
                outcomes[resource_id] = done.outcomes
                if done.events:
                    appends.append(
                        StreamAppend(
                            stream_id,
                            encode_many(done.events, metadata, random_ids(len(done.events))),
                            version,
                        )
                    )
                    after[stream_id] = (version + len(done.events), done.state)
            if not appends:
                return outcomes, 0
            try:
                results = await store.append_batch(appends)
            except WrongExpectedVersion:
                continue  # another writer came first: decide again on what it wrote
            for stream_id, (version, state) in after.items():
                self.scheduler._remember(stream_id, version, state)
            return outcomes, max(r.last_position for r in results)
        raise TooBusy("the schedules kept changing under these confirmations, try again")
