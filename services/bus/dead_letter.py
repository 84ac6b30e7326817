"""Dead-lettering, the one rule: what no consumer can handle is kept, with why, where people look.

A copy of the message goes to the ``loa.dead-letter`` exchange (and so to its quorum queue),
persistent, with its body, properties and headers unchanged, under the routing key it was first
published with, and with headers saying which consumer gave up, why, and after how many attempts.
The caller acknowledges (or settles) the original only after the copy is confirmed.
"""

from __future__ import annotations

from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from services.bus.topology import DEAD_LETTER_EXCHANGE
from services.bus.wire import header

ATTEMPTS = "x-loa-attempts"
ROUTING_KEY = "x-loa-routing-key"
"""The routing key a message was first published with: a retry or a replay routes by queue name."""


def copy_of(message: AbstractIncomingMessage, extra_headers: dict[str, Any]) -> aio_pika.Message:
    """A persistent copy of ``message`` (body, properties, headers) with ``extra_headers`` added."""
    headers = dict(message.headers or {})
    headers.setdefault(ROUTING_KEY, message.routing_key)
    headers.update(extra_headers)
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,  # aio-pika's default is not
        message_id=message.message_id,
        type=message.type,
        correlation_id=message.correlation_id,
        timestamp=message.timestamp,
        app_id=message.app_id,
    )


async def dead_letter(
    channel: AbstractChannel,
    message: AbstractIncomingMessage,
    *,
    consumer: str,
    reason: str,
    error_type: str | None = None,
    attempts: int | None = None,
) -> None:
    """Publish a copy of ``message`` to the dead-letter exchange with ``reason`` (cut to 1,000
    characters) and ``consumer`` in its headers; does not acknowledge ``message``."""
    extra: dict[str, Any] = {"x-loa-error": reason[:1000], "x-loa-consumer": consumer}
    if error_type is not None:
        extra["x-loa-error-type"] = error_type
    if attempts is not None:
        extra[ATTEMPTS] = attempts
    exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE, ensure=False)
    routing_key = header(message, ROUTING_KEY) or message.routing_key or "unknown"
    await exchange.publish(copy_of(message, extra), routing_key=routing_key)


def describe(exc: BaseException) -> str:
    """An error as a dead-letter reason: its type and message."""
    return f"{type(exc).__name__}: {exc}"[:1000]
