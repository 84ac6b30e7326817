"""A thin, idempotent consumer: bytes -> contract -> handler, once per event id.

Each message is parsed with the contracts registry (old schema versions are
upcast), then handled inside a PostgreSQL transaction that also records the
event id in the consumer's inbox: a redelivered message finds its id there and
changes nothing. A handler that fails is retried after a delay a bounded number
of times, then the message goes to the dead-letter queue with the error in its
headers. A message that cannot be parsed goes there at once. Nothing blocks the
queue, and a message is acknowledged only once its outcome is safely stored.

With ``batch_size`` > 1 the deliveries that are in hand together (up to the
prefetch) are handled in one transaction, in delivery order, with one commit: a
backlog or a replay then costs one disk flush per batch instead of one per event.
When a batch fails, each of its messages is handled again on its own, so one bad
message is retried or dead-lettered alone.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.registry import EventRegistry, UnknownEventType, UnsupportedSchemaVersion
from services.bus.connection import connect_robust
from services.bus.dead_letter import ATTEMPTS, copy_of, dead_letter, describe
from services.bus.topology import declare_consumer_queue, retry_queue_name
from services.bus.wire import header
from services.eventstore.migrate import check_schema_name
from services.eventstore.port import DuplicateEventId, WrongExpectedVersion

log = structlog.get_logger(__name__)

Handler = Callable[[asyncpg.Connection, Envelope[Any]], Awaitable[None]]
"""Applies one event's effects on an open transaction of the consumer's database."""

UNREADABLE = (ValueError, ValidationError, UnknownEventType, UnsupportedSchemaVersion)


class Consumer:
    """Feeds the events bound to ``queue`` to ``handler``, exactly once in effect."""

    def __init__(
        self,
        name: str,
        pool: asyncpg.Pool,
        schema: str,
        registry: EventRegistry,
        handler: Handler,
        *,
        bindings: Sequence[str],
        prefetch: int = 50,
        max_attempts: int = 5,
        retry_delay_ms: int = 5000,
        on_commit: Callable[[], None] | None = None,
        batch_size: int = 1,
    ) -> None:
        self.name = name
        self.pool = pool
        self.schema = check_schema_name(schema)
        self.registry = registry
        self.handler = handler
        self.bindings = list(bindings)
        self.prefetch = prefetch
        self.max_attempts = max_attempts
        self.retry_delay_ms = retry_delay_ms
        self.on_commit = on_commit
        self.batch_size = batch_size
        self._waiting: list[tuple[Envelope[Any], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.handled = 0
        self.duplicates = 0
        self.dead_lettered = 0
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._seen_sql = f"select exists (select 1 from {schema}.inbox where consumer = $1 and event_id = $2)"
        self._mark_sql = (
            f"insert into {schema}.inbox (consumer, event_id) values ($1, $2) "
            "on conflict do nothing returning true"
        )
        self._seen_many_sql = (
            f"select event_id from {schema}.inbox where consumer = $1 and event_id = any($2)"
        )
        self._mark_many_sql = (
            f"insert into {schema}.inbox (consumer, event_id) select $1, unnest($2::uuid[]) "
            "on conflict do nothing"
        )

    async def start(self, amqp_url: str) -> None:
        """Connect (waiting for the broker), declare the queues and start consuming."""
        self._connection = await connect_robust(amqp_url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        queue = await declare_consumer_queue(
            self._channel, self.name, self.bindings, retry_delay_ms=self.retry_delay_ms
        )
        await queue.consume(self._on_message)
        log.info("consumer started", consumer=self.name, bindings=self.bindings)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = self.registry.parse_wire(message.body)
        except UNREADABLE as exc:
            await self._dead_letter(message, exc, attempts=0)
            return
        structlog.contextvars.bind_contextvars(
            event_id=str(envelope.event_id), correlation_id=message.correlation_id
        )
        try:
            await (self._handle_batched(envelope) if self.batch_size > 1 else self._handle_once(envelope))
        except Exception as exc:  # a handler's failure must never block the queue
            attempts = int(header(message, ATTEMPTS, 0)) + 1
            if attempts >= self.max_attempts:
                await self._dead_letter(message, exc, attempts)
            else:
                await self._retry(message, exc, attempts)
        else:
            await message.ack()
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")

    async def _handle_batched(self, envelope: Envelope[Any]) -> None:
        """Handle ``envelope`` with the other deliveries in hand; raise what its own handling raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((envelope, done))
        if self._flusher is None or self._flusher.done():
            # Every outcome reaches its message through its future; the flusher itself never fails.
            self._flusher = asyncio.create_task(self._flush(), name=f"{self.name}-batches")
        await done

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # the deliveries already received join this batch
        while self._waiting:
            batch, self._waiting = self._waiting[: self.batch_size], self._waiting[self.batch_size :]
            try:
                await self._handle_many([e for e, _ in batch])
            except Exception:
                for envelope, done in batch:  # one at a time: a bad one fails alone
                    try:
                        await self._handle_once(envelope)
                    except Exception as exc:
                        done.set_exception(exc)
                    else:
                        done.set_result(None)
            else:
                for _, done in batch:
                    done.set_result(None)

    async def _handle_many(self, envelopes: list[Envelope[Any]]) -> None:
        """One transaction for the batch, in delivery order; any failure rolls all of it back."""
        async with self.pool.acquire() as conn:
            ids = [e.event_id for e in envelopes]
            seen = {r["event_id"] for r in await conn.fetch(self._seen_many_sql, self.name, ids)}
            fresh: dict[Any, Envelope[Any]] = {}
            for e in envelopes:
                if e.event_id not in seen:
                    fresh.setdefault(e.event_id, e)
            if fresh:
                async with conn.transaction():
                    for envelope in fresh.values():
                        await self.handler(conn, envelope)
                    marked = await conn.execute(self._mark_many_sql, self.name, list(fresh))
                    if marked != f"INSERT 0 {len(fresh)}":
                        raise _HandledMeanwhile  # another process took some of them: one at a time
        self.duplicates += len(envelopes) - len(fresh)
        self.handled += len(fresh)
        if fresh and self.on_commit is not None:
            self.on_commit()

    async def _handle_once(self, envelope: Envelope[Any]) -> None:
        for attempt in range(10):
            if attempt:
                # Messages handled side by side for the same stream collide on its head; retrying at
                # once collides again, a short random pause lets one of them through.
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
            async with self.pool.acquire() as conn:
                if await conn.fetchval(self._seen_sql, self.name, envelope.event_id):
                    self.duplicates += 1
                    return
                try:
                    async with conn.transaction():
                        # The handler writes first: an event store append must be a
                        # transaction's first write (docs/adr/0001).
                        await self.handler(conn, envelope)
                        if not await conn.fetchval(self._mark_sql, self.name, envelope.event_id):
                            raise _HandledMeanwhile
                except (_HandledMeanwhile, DuplicateEventId):
                    # Its event id is stored already: a concurrent or earlier delivery handled it.
                    self.duplicates += 1
                    return
                except WrongExpectedVersion:
                    # Another writer got the stream first (the one error type of that race,
                    # StaleTransaction included): the handler runs again on the stream as it is now.
                    continue
            self.handled += 1
            if self.on_commit is not None:
                self.on_commit()
            return
        raise RuntimeError("handler kept losing the race for its stream (WrongExpectedVersion) ten times")

    async def _retry(self, message: AbstractIncomingMessage, exc: Exception, attempts: int) -> None:
        log.warning(
            "handler failed; retrying later",
            consumer=self.name,
            attempt=attempts,
            of=self.max_attempts,
            error=repr(exc),
        )
        await self._channel.default_exchange.publish(
            copy_of(message, {ATTEMPTS: attempts, "x-loa-last-error": describe(exc)}),
            routing_key=retry_queue_name(self.name),
        )
        await message.ack()

    async def _dead_letter(self, message: AbstractIncomingMessage, exc: Exception, attempts: int) -> None:
        self.dead_lettered += 1
        log.error(
            "message dead-lettered", consumer=self.name, attempts=attempts, error=repr(exc), type=message.type
        )
        await dead_letter(
            self._channel,
            message,
            consumer=self.name,
            reason=describe(exc),
            error_type=type(exc).__name__,
            attempts=attempts,
        )
        await message.ack()


class _HandledMeanwhile(Exception):
    """A concurrent delivery of the same event committed first."""
