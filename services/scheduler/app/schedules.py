"""The resources' schedules: each decided on its own stream, one or many in one transaction.

Folded schedules are kept in a bounded LRU cache with the version they reflect; a load
reads only the events after that version, so a long-lived commune's schedule is not
decoded again on every request. The cache is only an optimisation: every append still
expects the version it decided on.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from itertools import islice
from typing import TypeVar
from uuid import UUID

from contracts.base import Event
from contracts.envelope import EventMetadata
from contracts.events.reference import ResourceDescribed, ResourceDescription
from services.eventstore.codec import encode_many, random_ids
from services.eventstore.port import EventStore, RecordedEvent, StreamAppend, WrongExpectedVersion
from services.eventstore.replay import gc_paused
from services.scheduler.app.streams import (
    ATTEMPTS,
    Recorded,
    TooBusy,
    append_decided,
    contract_events,
    encode_decided,
    read_newer,
    resource_stream,
    schedule_stream,
)
from services.scheduler.domain.as_run import ItemOutcome, confirm_all
from services.scheduler.domain.bulk import Skipped, plan_all
from services.scheduler.domain.commands import Command, ConfirmAiring, ScheduleAiring
from services.scheduler.domain.reference import latest
from services.scheduler.domain.schedule import ResourceSchedule, decide, fold

T = TypeVar("T")
DESCRIPTION_FOR = 2.0  # seconds a resource's description read for a command serves the next ones
LOOKED_UP = 2000  # remembered schedules searched for an airing's resource before asking the read model


class Schedules:
    """Decides commands on the resources' schedule streams and appends what they decide."""

    def __init__(self, store: EventStore, *, cache_events: int = 50_000) -> None:
        self.store = store
        self.cache_events = cache_events
        self._cache: OrderedDict[str, tuple[int, ResourceSchedule]] = OrderedDict()
        self._cached = 0
        self.cache_descriptions = 10_000
        self._descriptions: dict[str, tuple[ResourceDescription, float]] = {}

    def remember(self, stream_id: str, version: int, state: ResourceSchedule) -> None:
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

    def resource_of(self, airing_id: UUID) -> str | None:
        """The resource of an airing a remembered schedule holds (None: not remembered here). An
        airing never changes resource, so a remembered one answers as well as the store would."""
        # The schedules used last first, and only so many: a miss costs a bounded scan, then a read.
        for _, state in islice(reversed(self._cache.values()), LOOKED_UP):
            if airing_id in state.airings:
                return state.resource_id
        return None

    def cached(self, stream_id: str) -> tuple[int, ResourceSchedule]:
        return self._cache.get(stream_id) or (0, ResourceSchedule())

    def brought_up_to_date(
        self, stream_id: str, known: tuple[int, ResourceSchedule], newer: list[RecordedEvent]
    ) -> tuple[ResourceSchedule, int]:
        """The cached schedule with the events read after it, and its version."""
        version, state = known
        if newer:
            state = fold(contract_events(newer), state)
            version += len(newer)
            self.remember(stream_id, version, state)
        return state, version

    async def load(self, resource_id: str) -> tuple[ResourceSchedule, int]:
        stream_id = schedule_stream(resource_id)
        known = self.cached(stream_id)
        newer = await self.store.read_stream(stream_id, from_version=known[0] + 1)
        return self.brought_up_to_date(stream_id, known, newer)

    async def load_with_description(
        self, resource_id: str
    ) -> tuple[tuple[ResourceSchedule, int, bool], ResourceDescription | None]:
        """The resource's schedule (whether read just now) and its description, in one read or none.

        When both were read moments ago (``DESCRIPTION_FOR`` seconds), neither is read again: the
        append's expected version catches a schedule that changed meanwhile, and a description
        changes seldom (its type never, a province rarely; this process forgets its own copy at once).
        """
        stream_id, described = schedule_stream(resource_id), resource_stream(resource_id)
        known = self.cached(stream_id)
        remembered = self._descriptions.get(resource_id)
        if known[0] and remembered is not None and remembered[1] > time.monotonic():
            return (known[1], known[0], False), remembered[0]
        newer = await read_newer(self.store, {stream_id: known[0], described: 0})
        state, version = self.brought_up_to_date(stream_id, known, newer[stream_id])
        current = latest(contract_events(newer[described]), ResourceDescribed)
        description = current.description if current is not None else None
        self._remember_description(resource_id, description)
        return (state, version, True), description

    async def description(self, resource_id: str) -> tuple[ResourceDescription | None, bool]:
        """The resource's description as read moments ago (``DESCRIPTION_FOR`` seconds) or now, and
        whether it was read just now (a refusal is made only on a description read just now)."""
        remembered = self._descriptions.get(resource_id)
        if remembered is not None and remembered[1] > time.monotonic():
            return remembered[0], False
        current = latest(
            contract_events(await self.store.read_stream(resource_stream(resource_id))), ResourceDescribed
        )
        description = current.description if current is not None else None
        self._remember_description(resource_id, description)
        return description, True

    def _remember_description(self, resource_id: str, description: ResourceDescription | None) -> None:
        if description is not None:
            self._descriptions[resource_id] = (description, time.monotonic() + DESCRIPTION_FOR)
            while len(self._descriptions) > self.cache_descriptions:
                self._descriptions.pop(next(iter(self._descriptions)))

    def forget_description(self, resource_id: str) -> None:
        self._descriptions.pop(resource_id, None)

    def _after(self, stream_id: str) -> Callable[[ResourceSchedule, int, list[Event]], ResourceSchedule]:
        def after(state: ResourceSchedule, version: int, events: list[Event]) -> ResourceSchedule:
            state = fold(events, state)
            self.remember(stream_id, version + len(events), state)
            return state

        return after

    async def decide(
        self,
        resource_id: str,
        decision: Callable[[ResourceSchedule], tuple[list[Event], T]],
        metadata: EventMetadata,
        loaded: tuple[ResourceSchedule, int, bool] | None = None,
    ) -> tuple[Recorded[ResourceSchedule], T]:
        """Run ``decision`` on the resource's current schedule and append its events; its answer
        (one result per item, say) is the one decided on the schedule the events went to.
        ``loaded``: the schedule for the first attempt and whether it was read just now; any
        further attempt reads the stream."""
        stream_id = schedule_stream(resource_id)
        first = [loaded] if loaded is not None else []

        async def load() -> tuple[ResourceSchedule, int, bool]:
            if first:
                return first.pop()
            return (*await self.load(resource_id), True)

        return await append_decided(self.store, stream_id, load, decision, metadata, self._after(stream_id))

    async def execute(
        self,
        resource_id: str,
        command: Command,
        metadata: EventMetadata,
        loaded: tuple[ResourceSchedule, int, bool] | None = None,
    ) -> Recorded[ResourceSchedule]:
        """Decide ``command`` on the resource's current schedule and record what it decided."""
        recorded, _ = await self.decide(
            resource_id, lambda state: (decide(state, command), None), metadata, loaded
        )
        return recorded

    async def plan_many(
        self,
        airings: dict[str, list[ScheduleAiring]],
        metadata: EventMetadata,
        *,
        skip_conflicts: bool,
        dry_run: bool = False,
    ) -> Recorded[None]:
        """Schedule airings on many resources in one transaction: all or nothing (or skip conflicts).

        A Conflict from any schedule refuses the whole request unless ``skip_conflicts``;
        ``dry_run`` decides and appends nothing (a preview).
        """
        streams = {schedule_stream(r): r for r in airings}
        for _ in range(ATTEMPTS):
            known = {sid: self.cached(sid) for sid in streams}
            newer = await read_newer(self.store, {sid: v for sid, (v, _) in known.items()})
            with gc_paused():  # hundreds of thousands of small objects; no cycles among them
                appends, decided, skipped, after = self._decide_all(
                    streams, known, newer, airings, metadata, skip_conflicts
                )
            if dry_run:
                return Recorded([], 0, skipped=skipped, planned=decided)
            if not appends:
                return Recorded([], 0, skipped=skipped)
            try:
                results = await self.store.append_batch(appends)
            except WrongExpectedVersion:
                continue
            if all(r.duplicate for r in results):
                return Recorded([], max(r.last_position for r in results), skipped=skipped)
            for stream_id, (version, state) in after.items():
                self.remember(stream_id, version, state)
            return Recorded([], max(r.last_position for r in results), skipped=skipped, planned=decided)
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
                state = fold(contract_events(newer[stream_id]), state)
                version += len(newer[stream_id])
            plan = plan_all(state, airings[resource_id], skip_conflicts=skip_conflicts)
            skipped += plan.skipped
            if not plan.events:
                continue
            decided += len(plan.events)
            appends.append(StreamAppend(stream_id, encode_decided(plan.events, metadata, stream_id), version))
            if cache:
                after[stream_id] = (version + len(plan.events), plan.state)
        return appends, decided, skipped, after

    async def confirm_many(
        self, by_resource: dict[str, list[ConfirmAiring]], metadata: EventMetadata
    ) -> tuple[dict[str, list[ItemOutcome]], int]:
        """Many confirmations on many schedules in one transaction, each with its own outcome:
        each resource's outcomes in the order given, and the last position written (0: none)."""
        streams = {schedule_stream(r): r for r in by_resource}
        for _ in range(ATTEMPTS):
            known = {sid: self.cached(sid) for sid in streams}
            newer = await read_newer(self.store, {sid: v for sid, (v, _) in known.items()})
            appends, outcomes, after = [], {}, {}
            for stream_id, resource_id in streams.items():
                version, state = known[stream_id]
                if newer[stream_id]:
                    state = fold(contract_events(newer[stream_id]), state)
                    version += len(newer[stream_id])
                done = confirm_all(state, by_resource[resource_id])
                outcomes[resource_id] = done.outcomes
                if done.events:
                    events = encode_many(done.events, metadata, random_ids(len(done.events)))
                    appends.append(StreamAppend(stream_id, events, version))
                    after[stream_id] = (version + len(done.events), done.state)
            if not appends:
                return outcomes, 0
            try:
                results = await self.store.append_batch(appends)
            except WrongExpectedVersion:
                continue  # another writer came first: decide again on what it wrote
            for stream_id, (version, state) in after.items():
                self.remember(stream_id, version, state)
            return outcomes, max(r.last_position for r in results)
        raise TooBusy("the schedules kept changing under these confirmations, try again")
