"""The consumer of the AMQP queue ``metrics.samples``: samples recorded in batches.

A message holds one sample or a list of them (the JSON of SampleIn). Messages
are taken as they come, up to ``batch_size`` or ``linger`` seconds, checked,
appended in one transaction, then acknowledged together (one ``ack`` with
``multiple``). A message with no valid sample goes to the dead-letter queue
with the reasons; a failure of the store leaves the batch unacknowledged, so
the broker delivers it again (the event ids derive from the content: nothing
is stored twice).

The broker connection may drop at any time. Deliveries of a channel that has
closed cannot be settled any more, and the broker delivers them again on the
restored channel: they are dropped from the batch, unstored. An ack or nack
that meets a closed channel is logged, never fatal. The loop runs under the
service's supervisor, which starts it again should anything else go wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aio_pika
import aiormq
import orjson
import structlog
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import AMQPException

from contracts.envelope import EventMetadata
from services.bus.dead_letter import dead_letter
from services.bus.topology import declare_consumer_queue
from services.common.supervisor import Supervisor
from services.metrics.app.handlers import SamplesRecorded

log = structlog.get_logger(__name__)
QUEUE = "metrics.samples"
TASK = "sample-queue"
SETTLE_ERRORS = (aiormq.exceptions.AMQPError, AMQPException, ConnectionError, RuntimeError)
"""What an ack or nack raises on a channel that closed under it."""


def settleable(message: AbstractIncomingMessage) -> bool:
    """Whether the channel ``message`` came on is still open (else the broker delivers it again)."""
    try:
        message.channel  # noqa: B018 - raises once that channel has closed
    except aiormq.exceptions.ChannelInvalidStateError:
        return False
    return True


RecordSamples = Callable[[Sequence[dict[str, Any]], EventMetadata], Awaitable[SamplesRecorded]]
"""The ``record_samples`` handler, bound to its store and read model."""


class SampleConsumer:
    def __init__(
        self,
        record: RecordSamples,
        *,
        queue: str = QUEUE,
        batch_size: int = 1000,
        linger: float = 0.01,
        prefetch: int = 4000,
    ) -> None:
        self.record = record
        self.queue = queue
        self.batch_size = batch_size
        self.linger = linger
        self.prefetch = prefetch
        self.accepted = 0
        self.dead_lettered = 0
        self.dropped = 0  # deliveries of a closed channel, left for the broker to deliver again
        self._inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._supervisor: Supervisor | None = None
        self._channel = None

    async def start(self, connection: aio_pika.abc.AbstractRobustConnection, supervisor: Supervisor) -> None:
        # A robust channel: after a reconnect it is opened again with its QoS and this consumer.
        self._channel = await connection.channel()
        await self._channel.set_qos(prefetch_count=self.prefetch)
        queue = await declare_consumer_queue(self._channel, self.queue, bindings=[])
        # Collectors publish to an exchange of the queue's name: their broker user may write there
        # and nowhere else (the default exchange would let them reach every queue).
        entry = await self._channel.declare_exchange(self.queue, aio_pika.ExchangeType.FANOUT, durable=True)
        await queue.bind(entry)
        await queue.consume(self._inbox.put)
        self._supervisor = supervisor
        supervisor.start(TASK, self._run)

    async def stop(self) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop(TASK, timeout=0)
        if self._channel is not None:
            with contextlib.suppress(*SETTLE_ERRORS):
                await self._channel.close()  # what is unsettled goes back to the queue

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            if not batch:
                continue
            try:
                await self.handle(batch)
            except Exception as exc:
                log.warning("sample batch not stored; the broker will deliver it again", error=repr(exc))
                await self._settle(batch, ack=False)
                await asyncio.sleep(1)

    async def _next_batch(self) -> list[AbstractIncomingMessage]:
        """Up to ``batch_size`` deliveries, those of a closed channel left out."""
        batch = [await self._inbox.get()]
        deadline = asyncio.get_running_loop().time() + self.linger
        while len(batch) < self.batch_size:
            try:  # what is already here, without a timer per message
                batch.append(self._inbox.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            timeout = deadline - asyncio.get_running_loop().time()
            if timeout <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._inbox.get(), timeout))
            except TimeoutError:
                break
        live = [message for message in batch if settleable(message)]
        if len(live) < len(batch):
            self.dropped += len(batch) - len(live)
            log.info("deliveries of a closed channel dropped; the broker delivers them again",
                     count=len(batch) - len(live))  # fmt: skip
        return live

    async def _settle(self, batch: list[AbstractIncomingMessage], *, ack: bool) -> None:
        """One ack (or nack, requeued) for the batch: the channel's deliveries up to its last message
        are exactly this batch (batches are taken in delivery order, each settled before the next)."""
        try:
            if ack:
                await batch[-1].ack(multiple=True)
            else:
                await batch[-1].nack(multiple=True, requeue=True)
        except SETTLE_ERRORS as exc:
            # The channel closed under us: the broker delivers the batch again, and its samples,
            # stored or not, are stored once (their ids derive from their content).
            log.warning("batch not settled: its channel closed", ack=ack, size=len(batch), error=repr(exc))

    async def handle(self, batch: list[AbstractIncomingMessage]) -> None:
        items: list[dict[str, Any]] = []
        owners: list[int] = []
        unreadable: dict[int, str] = {}
        for i, message in enumerate(batch):
            try:
                body = orjson.loads(message.body)
            except orjson.JSONDecodeError as exc:
                unreadable[i] = f"not JSON: {exc}"
                continue
            for item in body if isinstance(body, list) else [body]:
                items.append(item if isinstance(item, dict) else {"airing_id": None})
                owners.append(i)
        recorded = await self.record(items, EventMetadata(actor="amqp:" + self.queue))
        self.accepted += recorded.accepted
        rejected = recorded.rejected
        reasons: dict[int, list[str]] = {i: [why] for i, why in unreadable.items()}
        for r in rejected:
            reasons.setdefault(owners[r.index], []).append(f"{r.field}: {r.reason}")
        valid_owners = {owners[i] for i in range(len(items))} - {owners[r.index] for r in rejected}
        for i, message in enumerate(batch):
            if i in reasons and i not in valid_owners:
                # Nothing of it can be stored: keep it, with the reasons, where people look.
                self.dead_lettered += 1
                await dead_letter(self._channel, message, consumer=self.queue, reason="; ".join(reasons[i]))
            elif i in reasons:
                log.warning("samples rejected from a message", reasons=reasons[i][:10])
        await self._settle(batch, ack=True)
