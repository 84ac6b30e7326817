"""Samples from the AMQP queue ``metrics.samples``, appended in batches.

A message holds one sample or a list of them (the JSON of SampleIn). Messages
are taken as they come, up to ``batch_size`` or ``linger`` seconds, checked,
appended in one transaction, then acknowledged together (one ``ack`` with
``multiple``). A message with no valid sample goes to the dead-letter queue
with the reasons; a failure of the store leaves the batch unacknowledged, so
the broker delivers it again (the event ids derive from the content: nothing
is stored twice).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aio_pika
import orjson
import structlog
from aio_pika.abc import AbstractIncomingMessage

from contracts.envelope import EventMetadata
from services.bus.topology import DEAD_LETTER_EXCHANGE, declare_consumer_queue
from services.metrics.ingest import SampleIngestor

log = structlog.get_logger(__name__)
QUEUE = "metrics.samples"


class SampleQueue:
    def __init__(
        self,
        ingestor: SampleIngestor,
        *,
        queue: str = QUEUE,
        batch_size: int = 1000,
        linger: float = 0.01,
        prefetch: int = 4000,
    ) -> None:
        self.ingestor = ingestor
        self.queue = queue
        self.batch_size = batch_size
        self.linger = linger
        self.prefetch = prefetch
        self.accepted = 0
        self.dead_lettered = 0
        self._inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._channel = None

    async def start(self, connection: aio_pika.abc.AbstractRobustConnection) -> None:
        self._channel = await connection.channel()
        await self._channel.set_qos(prefetch_count=self.prefetch)
        queue = await declare_consumer_queue(self._channel, self.queue, bindings=[])
        # Collectors publish to an exchange of the queue's name: their broker user may write there
        # and nowhere else (the default exchange would let them reach every queue).
        entry = await self._channel.declare_exchange(self.queue, aio_pika.ExchangeType.FANOUT, durable=True)
        await queue.bind(entry)
        await queue.consume(self._inbox.put)
        self._task = asyncio.create_task(self._run(), name="metrics-samples")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
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
            try:
                await self.handle(batch)
            except Exception as exc:
                log.warning("sample batch not stored; the broker will deliver it again", error=repr(exc))
                await batch[-1].nack(multiple=True, requeue=True)
                await asyncio.sleep(1)

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
        accepted, rejected, _ = await self.ingestor.ingest(items, EventMetadata(actor="amqp:" + self.queue))
        self.accepted += accepted
        reasons: dict[int, list[str]] = {i: [why] for i, why in unreadable.items()}
        for r in rejected:
            reasons.setdefault(owners[r.index], []).append(f"{r.field}: {r.reason}")
        valid_owners = {owners[i] for i in range(len(items))} - {owners[r.index] for r in rejected}
        exchange = await self._channel.get_exchange(DEAD_LETTER_EXCHANGE, ensure=False) if reasons else None
        for i, message in enumerate(batch):
            if i in reasons and i not in valid_owners:
                # Nothing of it can be stored: keep it, with the reasons, where people look.
                self.dead_lettered += 1
                await exchange.publish(
                    aio_pika.Message(
                        message.body,
                        content_type=message.content_type,
                        headers={
                            **(message.headers or {}),
                            "x-loa-error": "; ".join(reasons[i])[:1000],
                            "x-loa-consumer": self.queue,
                        },
                    ),
                    routing_key=self.queue,
                )
            elif i in reasons:
                log.warning("samples rejected from a message", reasons=reasons[i][:10])
        # One acknowledgement for the batch: the channel's deliveries up to its last message are
        # exactly this batch (batches are taken in delivery order, each settled before the next).
        await batch[-1].ack(multiple=True)
