"""The outbox relay: the event store, in global order, onto the ``loa.events`` exchange.

The event store is the outbox. The relay reads it from its checkpoint with a
catch-up subscription, publishes each batch with publisher confirms, and only
then lets the subscription commit the checkpoint. A crash or a broker outage
between publish and checkpoint means some events go out twice, never that one
is skipped: delivery is at-least-once and consumers deduplicate by event id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import structlog
from aio_pika.abc import AbstractExchange

from services.bus.connection import AMQP_ERRORS, connect
from services.bus.topology import declare_consumer_queues, declare_exchanges
from services.bus.wire import to_message
from services.eventstore.port import EventStore, RecordedEvent
from services.eventstore.subscription import CatchUpSubscription

log = structlog.get_logger(__name__)


class OutboxRelay:
    """Publishes every committed event of ``store`` to RabbitMQ, in order, at least once."""

    def __init__(
        self,
        store: EventStore,
        amqp_url: str,
        *,
        name: str = "outbox-relay",
        batch_size: int = 500,
        fallback_interval: float = 1.0,
        startup_timeout: float = 120.0,
        linger: float = 0.02,
        consumers: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """``store``: the log to relay; the catch-up subscription that follows it keeps its
        checkpoint in the store's database (the PostgreSQL store in every service).
        ``consumers``: the queues to declare before the first publish (the product's relay
        passes topology.CONSUMERS; a test's relay, publishing into a shared broker, none)."""
        self.store = store
        self.consumers = consumers or {}
        self.amqp_url = amqp_url
        self.name = name
        self.batch_size = batch_size
        self.fallback_interval = fallback_interval
        self.startup_timeout = startup_timeout
        self.linger = linger
        self.published = 0
        self._subscription: CatchUpSubscription | None = None
        self._stopping = False
        self._started = asyncio.Event()

    @property
    def position(self) -> int:
        return self._subscription.position if self._subscription else 0

    async def run(self) -> None:
        """Relay until :meth:`stop`; reconnects to the broker with back-off after any failure."""
        delay = 0.2
        while not self._stopping:
            try:
                connection = await connect(self.amqp_url, timeout=self.startup_timeout)
            except AMQP_ERRORS:
                continue
            try:
                async with connection:
                    channel = await connection.channel(publisher_confirms=True)
                    exchange = await declare_exchanges(channel)
                    await declare_consumer_queues(channel, self.consumers)
                    self._subscription = CatchUpSubscription(
                        self.store,
                        self.name,
                        self._publisher(exchange),
                        batch_size=self.batch_size,
                        fallback_interval=self.fallback_interval,
                        linger=self.linger,
                    )
                    self._started.set()
                    if self._stopping:
                        return
                    log.info("relay publishing", relay=self.name, schema=self.store.schema)
                    delay = 0.2
                    await self._subscription.run()
            except AMQP_ERRORS as exc:
                log.warning(
                    "relay lost the broker; resuming from its checkpoint",
                    relay=self.name,
                    error=repr(exc),
                    retry_in=delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def stop(self) -> None:
        self._stopping = True
        if self._subscription is not None:
            self._subscription.stop()

    async def wait_until(self, position: int, timeout: float = 10.0) -> None:
        """Wait until everything up to ``position`` is published and confirmed."""
        async with asyncio.timeout(timeout):
            await self._started.wait()
            await self._subscription.wait_until(position, timeout)

    def _publisher(self, exchange: AbstractExchange):
        app_id = f"loa.{self.store.schema}"

        async def publish(conn, events: list[RecordedEvent]) -> None:
            # One channel keeps the wire order; every confirm is awaited before
            # the subscription commits the checkpoint past these events.
            await asyncio.gather(
                *(exchange.publish(to_message(e, app_id), routing_key=e.type) for e in events)
            )
            self.published += len(events)

        return publish
