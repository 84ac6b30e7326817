"""Connecting to RabbitMQ, waiting (and saying so) while it is not there yet."""

from __future__ import annotations

import aio_pika
import aiormq
from aio_pika.abc import AbstractConnection, AbstractRobustConnection

from services.common.startup import _redact, wait_for

AMQP_ERRORS = (
    OSError,
    ConnectionError,
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    aio_pika.exceptions.CONNECTION_EXCEPTIONS,
)


def _flatten(errors) -> tuple[type[BaseException], ...]:
    out: list[type[BaseException]] = []
    for e in errors:
        out.extend(_flatten(e) if isinstance(e, tuple) else [e])
    return tuple(dict.fromkeys(out))


AMQP_ERRORS = _flatten(AMQP_ERRORS)


async def connect(url: str, *, timeout: float = 120.0) -> AbstractConnection:
    """A plain connection, once the broker answers."""
    return await wait_for(
        f"RabbitMQ at {_redact(url)}", lambda: aio_pika.connect(url), timeout=timeout, retry_on=AMQP_ERRORS
    )


async def connect_robust(url: str, *, timeout: float = 120.0) -> AbstractRobustConnection:
    """A connection that reconnects and restores its channels, queues and consumers by itself."""
    return await wait_for(
        f"RabbitMQ at {_redact(url)}",
        lambda: aio_pika.connect_robust(url),
        timeout=timeout,
        retry_on=AMQP_ERRORS,
    )
