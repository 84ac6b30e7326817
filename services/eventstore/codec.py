"""Between contract objects (pydantic events) and the store's JSON rows."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from contracts.base import Event
from contracts.envelope import Envelope, EventMetadata, envelope_of
from contracts.registry import EventRegistry
from services.eventstore.port import NewEvent, RawJson, RecordedEvent


def encode(
    event: Event,
    metadata: EventMetadata | None = None,
    *,
    event_id: UUID | None = None,
    occurred_at: datetime | None = None,
) -> NewEvent:
    """A contract event ready to append, under its wire name and current schema version."""
    return NewEvent(
        event_id=event_id or uuid4(),
        type=event.wire_name,
        schema_version=event.schema_version,
        data=event.model_dump(mode="json"),
        metadata=(metadata or EventMetadata()).model_dump(mode="json", exclude_none=True),
        occurred_at=occurred_at or datetime.now(UTC),
    )


def encode_many(
    events: Sequence[Event], metadata: EventMetadata, event_ids: Sequence[UUID]
) -> list[NewEvent]:
    """Many events of one decision: payloads serialised straight to JSON, the metadata once, one time."""
    meta = metadata.model_dump(mode="json", exclude_none=True)
    now = datetime.now(UTC)
    return [
        NewEvent(i, e.wire_name, e.schema_version, RawJson(e.__pydantic_serializer__.to_json(e)), meta, now)
        for e, i in zip(events, event_ids, strict=True)
    ]


def random_ids(n: int) -> list[UUID]:
    """``n`` random (version 4) UUIDs from one read of the system's random source."""
    pool = os.urandom(16 * n)
    return [UUID(bytes=pool[i : i + 16], version=4) for i in range(0, 16 * n, 16)]


def check_payload(registry: EventRegistry, event: NewEvent) -> None:
    """Refuse a raw payload that does not match its contract, before it is written.

    Raises :class:`contracts.registry.UnknownEventType` or pydantic's ``ValidationError``.
    """
    registry.decode(event.type, event.schema_version, event.data)
    EventMetadata.model_validate(event.metadata)


def decode(registry: EventRegistry, recorded: RecordedEvent) -> Envelope[Any]:
    """A recorded event as a typed envelope, upcast to the current schema version.

    The row was validated when it was written, so the envelope is assembled
    without validating it again; only the payload goes through its contract.
    """
    data = registry.decode(recorded.type, recorded.schema_version, recorded.data)
    return envelope_of(recorded, data, EventMetadata.model_validate(recorded.metadata))
