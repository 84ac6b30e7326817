"""The RabbitMQ topology, declared in code and safe to declare again.

- ``loa.events``: topic exchange; routing key = the event's wire name
  (``schedule.AiringScheduled``), so ``schedule.#`` takes a whole context.
- ``loa.dead-letter``: topic exchange and quorum queue for what no consumer could
  handle, with the reason in the headers.
- per consumer: a durable quorum queue bound by routing-key patterns, whose
  rejected or over-delivered messages go to the dead-letter exchange, and a
  ``<queue>.retry`` queue that holds failed messages for a delay and then gives
  them back to the consumer's queue.
"""

from __future__ import annotations

from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

EVENTS_EXCHANGE = "loa.events"
DEAD_LETTER_EXCHANGE = "loa.dead-letter"
DEAD_LETTER_QUEUE = "loa.dead-letter"

# Broker-side safety net: a message redelivered this often (a consumer that
# crashes on it every time) is dead-lettered by the broker itself.
DELIVERY_LIMIT = 20


async def declare_exchanges(channel: AbstractChannel) -> AbstractExchange:
    """Declare the events and dead-letter exchanges and the dead-letter queue; return ``loa.events``."""
    events = await channel.declare_exchange(EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    dead = await channel.declare_exchange(DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(DEAD_LETTER_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    await queue.bind(dead, routing_key="#")
    return events


async def declare_consumer_queue(
    channel: AbstractChannel,
    name: str,
    bindings: Sequence[str],
    *,
    retry_delay_ms: int = 5000,
) -> AbstractQueue:
    """Declare a consumer's quorum queue bound to ``loa.events`` by ``bindings``, and its retry queue."""
    events = await declare_exchanges(channel)
    queue = await channel.declare_queue(
        name,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-delivery-limit": DELIVERY_LIMIT,
        },
    )
    for pattern in bindings:
        await queue.bind(events, routing_key=pattern)
    await channel.declare_queue(
        retry_queue_name(name),
        durable=True,
        arguments={
            # Expired messages go back, through the default exchange, to the work queue.
            "x-message-ttl": retry_delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": name,
        },
    )
    return queue


def retry_queue_name(queue: str) -> str:
    return f"{queue}.retry"
