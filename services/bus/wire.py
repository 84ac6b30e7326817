"""Recorded events as AMQP messages, and back."""

from __future__ import annotations

from typing import Any

import aio_pika
import orjson

from services.eventstore.port import RecordedEvent


def envelope_json(event: RecordedEvent) -> bytes:
    """The envelope of ``event`` as JSON (the shape of contracts.envelope.WireEnvelope)."""
    return orjson.dumps(
        {
            "event_id": str(event.event_id),
            "type": event.type,
            "schema_version": event.schema_version,
            "stream_id": event.stream_id,
            "stream_version": event.stream_version,
            "global_position": event.global_position,
            "occurred_at": event.occurred_at,
            "recorded_at": event.recorded_at,
            "data": event.data,
            "metadata": event.metadata,
        }
    )


def to_message(event: RecordedEvent, app_id: str) -> aio_pika.Message:
    """A persistent message whose id is the event id, so that consumers can deduplicate."""
    correlation = event.metadata.get("correlation_id")
    return aio_pika.Message(
        envelope_json(event),
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(event.event_id),
        type=event.type,
        correlation_id=str(correlation) if correlation else None,
        timestamp=event.recorded_at,
        app_id=app_id,
        headers={
            "stream_id": event.stream_id,
            "stream_version": event.stream_version,
            "global_position": event.global_position,
            "schema_version": event.schema_version,
        },
    )


def header(message: Any, name: str, default: Any = None) -> Any:
    return (message.headers or {}).get(name, default)
