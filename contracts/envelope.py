"""The event envelope: what the event store records and the bus carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import Field

from contracts.base import Contract, Event

E = TypeVar("E", bound=Event)


class EventMetadata(Contract):
    """Where an event came from: who caused it and under which request.

    ``correlation_id`` ties together everything one user request set off;
    ``causation_id`` names the message (command or event) that caused this one;
    ``idempotency_key`` is the client-supplied key of the write that produced it.
    """

    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    actor: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=200)


class Envelope(Contract, Generic[E]):
    """One recorded event with its position in its stream and in the global log."""

    event_id: UUID
    type: str
    schema_version: int = Field(ge=1)
    stream_id: str = Field(min_length=1, max_length=200)
    stream_version: int = Field(ge=1)
    global_position: int | None = Field(default=None, ge=1)
    occurred_at: datetime
    recorded_at: datetime | None = None
    data: E
    metadata: EventMetadata = EventMetadata()


class WireEnvelope(Contract):
    """The envelope as it travels on the bus, with ``data`` still untyped JSON.

    Consumers parse it into an :class:`Envelope` with the registry, which upcasts
    old schema versions on the way.
    """

    event_id: UUID
    type: str
    schema_version: int = Field(ge=1)
    stream_id: str
    stream_version: int = Field(ge=1)
    global_position: int | None = None
    occurred_at: datetime
    recorded_at: datetime | None = None
    data: dict[str, Any]
    metadata: EventMetadata = EventMetadata()


def envelope_of(recorded: Any, data: Event, metadata: EventMetadata) -> Envelope[Any]:
    """An envelope around ``data`` with the positions and times of ``recorded`` (any row-like record)."""
    return Envelope.model_construct(
        event_id=recorded.event_id,
        type=recorded.type,
        schema_version=data.schema_version,
        stream_id=recorded.stream_id,
        stream_version=recorded.stream_version,
        global_position=recorded.global_position,
        occurred_at=recorded.occurred_at,
        recorded_at=recorded.recorded_at,
        data=data,
        metadata=metadata,
    )
