"""The scheduler's application service: load a stream, decide, append.

Optimistic concurrency: the append expects the version that was read; when
another request wrote first, the command is decided again on the new state.
Event ids come from the request's idempotency key when there is one, so a
retried request appends nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from contracts.base import Event
from contracts.envelope import EventMetadata
from contracts.events import REGISTRY
from services.eventstore.codec import decode, encode
from services.eventstore.port import StreamAppend, WrongExpectedVersion
from services.eventstore.postgres import PostgresEventStore
from services.scheduler.domain.bulk import Skipped, plan_all
from services.scheduler.domain.commands import Command, ScheduleAiring
from services.scheduler.domain.schedule import ResourceSchedule, decide, fold

ATTEMPTS = 8
EVENT_IDS = uuid.UUID("6b0f5d3e-8a4c-4f0e-9d7a-5c3b2a1f0e9d")

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


class TooBusy(Exception):
    """Other writers kept changing the same streams; the client may try again (HTTP 503)."""


class Scheduler:
    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    async def load(self, resource_id: str) -> tuple[ResourceSchedule, int]:
        recorded = await self.store.read_stream(stream_of(resource_id))
        return fold([decode(REGISTRY, r).data for r in recorded]), len(recorded)

    async def execute(self, resource_id: str, command: Command, metadata: EventMetadata) -> Outcome:
        """Decide ``command`` on the resource's current schedule and record what it decided."""
        return await self.record(
            stream_of(resource_id), lambda history: decide(fold(history), command), metadata
        )

    async def record(self, stream_id: str, decision: Decision, metadata: EventMetadata) -> Outcome:
        """Run ``decision`` on the stream's history and append its events, retrying on a race."""
        for _ in range(ATTEMPTS):
            recorded = await self.store.read_stream(stream_id)
            events = decision([decode(REGISTRY, r).data for r in recorded])
            if not events:
                return Outcome([], 0)
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
        self, airings: dict[str, list[ScheduleAiring]], metadata: EventMetadata, *, skip_conflicts: bool
    ) -> Outcome:
        """Schedule airings on many resources in one transaction: all or nothing (or skip conflicts).

        A Conflict from any schedule refuses the whole request unless ``skip_conflicts``.
        """
        streams = {stream_of(r): r for r in airings}
        for _ in range(ATTEMPTS):
            histories = await self.store.read_streams(list(streams))
            appends: list[StreamAppend] = []
            decided: list[Event] = []
            skipped: list[Skipped] = []
            for stream_id, resource_id in streams.items():
                recorded = histories[stream_id]
                state = fold([decode(REGISTRY, r).data for r in recorded])
                plan = plan_all(state, airings[resource_id], skip_conflicts=skip_conflicts)
                skipped += plan.skipped
                if not plan.events:
                    continue
                decided += plan.events
                new = [
                    encode(e, metadata, event_id=self._event_id(metadata, stream_id, i, e))
                    for i, e in enumerate(plan.events)
                ]
                appends.append(StreamAppend(stream_id, new, len(recorded)))
            if not appends:
                return Outcome([], 0, skipped)
            try:
                results = await self.store.append_batch(appends)
            except WrongExpectedVersion:
                continue
            duplicate = all(r.duplicate for r in results)
            return Outcome([] if duplicate else decided, max(r.last_position for r in results), skipped)
        raise TooBusy("the schedules kept changing under this plan, try again")

    @staticmethod
    def _event_id(metadata: EventMetadata, stream_id: str, index: int, event: Event) -> uuid.UUID:
        if metadata.idempotency_key:
            name = f"{metadata.actor}|{metadata.idempotency_key}|{stream_id}|{index}|{event.wire_name}"
            return uuid.uuid5(EVENT_IDS, name)
        return uuid.uuid4()
