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

from collections.abc import Mapping, Sequence

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

EVENTS_EXCHANGE = "loa.events"
DEAD_LETTER_EXCHANGE = "loa.dead-letter"
DEAD_LETTER_QUEUE = "loa.dead-letter"

# Every consumer queue of the product and its bindings. The relay declares them before it
# publishes anything, so that a consumer that starts late finds everything it missed waiting
# in its queue instead of lost to an exchange that had nowhere to route it.
CONSUMERS: Mapping[str, tuple[str, ...]] = {
    "metrics.scheduler-events": ("schedule.#", "access.#"),
}

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


async def declare_consumer_queues(
    channel: AbstractChannel, consumers: Mapping[str, Sequence[str]] = CONSUMERS
) -> None:
    """Declare every known consumer's queue (what the relay does before its first publish)."""
    for name, bindings in consumers.items():
        await declare_consumer_queue(channel, name, bindings)


def routes_to(pattern: str, routing_key: str) -> bool:
    """Whether a topic binding ``pattern`` (``*`` one word, ``#`` any words) takes ``routing_key``."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and p[0] in ("*", k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), routing_key.split("."))
