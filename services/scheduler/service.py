"""The scheduler's application service: load a resource's schedule, decide, append.

Optimistic concurrency: the append expects the version that was read; when
another request wrote first, the command is decided again on the new state.
Event ids come from the command's idempotency key when there is one, so a
retried request appends nothing new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from contracts.base import Event
from contracts.envelope import EventMetadata
from contracts.events import REGISTRY
from services.eventstore.codec import decode, encode
from services.eventstore.port import WrongExpectedVersion
from services.eventstore.postgres import PostgresEventStore
from services.scheduler.domain.commands import Command
from services.scheduler.domain.schedule import ResourceSchedule, decide, fold

ATTEMPTS = 8
EVENT_IDS = uuid.UUID("6b0f5d3e-8a4c-4f0e-9d7a-5c3b2a1f0e9d")


def stream_of(resource_id: str) -> str:
    return f"schedule-{resource_id}"


@dataclass(frozen=True)
class Outcome:
    events: list[Event]
    position: int  # the last global position written (0 when nothing was)


class Scheduler:
    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    async def load(self, resource_id: str) -> tuple[ResourceSchedule, int]:
        recorded = await self.store.read_stream(stream_of(resource_id))
        return fold([decode(REGISTRY, r).data for r in recorded]), len(recorded)

    async def execute(self, resource_id: str, command: Command, metadata: EventMetadata) -> Outcome:
        """Decide ``command`` on the resource's current schedule and record what it decided."""
        for _ in range(ATTEMPTS):
            state, version = await self.load(resource_id)
            events = decide(state, command)
            if not events:
                return Outcome([], 0)
            new = [
                encode(event, metadata, event_id=self._event_id(metadata, i, event))
                for i, event in enumerate(events)
            ]
            try:
                result = await self.store.append(stream_of(resource_id), new, version)
            except WrongExpectedVersion:
                continue
            return Outcome(events if not result.duplicate else [], result.last_position)
        raise RuntimeError(f"{resource_id}: too many concurrent writers, try again")

    @staticmethod
    def _event_id(metadata: EventMetadata, index: int, event: Event) -> uuid.UUID:
        if metadata.idempotency_key:
            name = f"{metadata.actor}|{metadata.idempotency_key}|{index}|{event.wire_name}"
            return uuid.uuid5(EVENT_IDS, name)
        return uuid.uuid4()
