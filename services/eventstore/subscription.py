"""Catch-up subscription: history in batches, then live, woken by LISTEN/NOTIFY.

The handler runs inside a transaction together with the checkpoint write, so a
crash between the two is impossible: either both commit or neither does.
A lost notification costs at most ``fallback_interval`` (a timed read runs
anyway); a dropped connection is retried with back-off and reading resumes from
the stored checkpoint.

Any other error of the handler is an event the projection cannot apply, or a
bug. Without a ``poison`` rule it ends :meth:`run` (the supervisor logs it and
starts it again). With one, the failed batch is applied again event by event to
find the culprit, which after a few tries is parked (``Poison.PARK``: kept in
``<schema>.parked`` with its error, and the projection goes on) or halts the
projection (``Poison.HALT``: it stays down, and /readyz says why). See
docs/adr/0004-poison-events.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum

import asyncpg
import structlog

from services.common.supervisor import Halt
from services.eventstore.checkpoints import CheckpointStore
from services.eventstore.parking import ParkingLot
from services.eventstore.port import RecordedEvent
from services.eventstore.postgres import PostgresEventStore

log = structlog.get_logger(__name__)

BatchHandler = Callable[[asyncpg.Connection, list[RecordedEvent]], Awaitable[None]]
"""Handles one batch on an open transaction; raising rolls the batch back."""

CONNECTION_ERRORS = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionFailureError,
    # A connection killed mid-operation can answer "cannot switch to state …; another operation is
    # in progress" instead of a closed-connection error: it is the same lost connection.
    asyncpg.InternalClientError,
)


class Poison(StrEnum):
    """What a projection does with an event it cannot apply."""

    PARK = "park"
    HALT = "halt"


class CatchUpSubscription:
    """Feeds a store's events, in global order, to a batch handler from a checkpoint."""

    def __init__(
        self,
        store: PostgresEventStore,
        name: str,
        handler: BatchHandler,
        *,
        batch_size: int = 1000,
        fallback_interval: float = 1.0,
        types: Sequence[str] | None = None,
        category: str | None = None,
        checkpoints: CheckpointStore | None = None,
        durable: bool = True,
        linger: float = 0.0,
        after_batch: Callable[[list[RecordedEvent]], None] | None = None,
        poison: Poison | None = None,
        tries: int = 3,
    ) -> None:
        """``durable=False`` suits read models: their rows and checkpoint still commit
        together, but without waiting for the disk flush, so a crash can only lose the
        last few milliseconds of progress, which the subscription then replays.

        ``poison``: park or halt on an event the handler fails on ``tries`` times in a
        row (None: any handler error ends :meth:`run`).
        """
        self.store = store
        self.durable = durable
        # After a wake-up, wait this long before reading, so that a steady trickle of
        # appends is handled in batches (a relay's per-batch cost is a broker round trip).
        self.linger = linger
        self.after_batch = after_batch  # called once a batch is committed (live feeds)
        self.name = name
        self.handler = handler
        self.batch_size = batch_size
        self.fallback_interval = fallback_interval
        self.types = list(types) if types else None
        self.category = category
        self.checkpoints = checkpoints or CheckpointStore(store.schema)
        self.poison = poison
        self.tries = tries
        self.parking = ParkingLot(store.schema)
        self.parked = 0  # events parked by this subscription since it was made
        self.trouble: str | None = None  # what keeps it from following, for /readyz
        self.halted: str | None = None  # why it stopped on a poison event (Poison.HALT)
        self.position = 0
        self.caught_up = asyncio.Event()
        self._wake = asyncio.Event()
        # Set and replaced after each batch. Not a Condition: a waiter cancelled by its deadline
        # while re-taking a Condition's lock can leave that lock held for good (seen under a database
        # restart, when many read-your-writes waits time out), and the subscription then blocks on it.
        self._progress = asyncio.Event()
        self._stopping = False
        # The newest position, by one backward probe of the primary key: "exists (… > $1)" is
        # planned generically as a sequential scan, which reads the whole log before reaching its end.
        self._pending_sql = f"select coalesce(max(global_position), 0) > $1 from {store.schema}.events"

    async def run(self) -> None:
        """Run until :meth:`stop`; reconnects on connection loss, never skips an event."""
        delay = 0.1
        while not self._stopping:
            try:
                await self._follow()
            except CONNECTION_ERRORS as exc:
                self.caught_up.clear()
                self.trouble = f"reconnecting to PostgreSQL: {exc!r}"[:300]
                log.warning(
                    "subscription lost its connection; retrying",
                    subscription=self.name,
                    error=repr(exc),
                    retry_in=delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)  # a server back is followed within a second
            else:
                delay = 0.1

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def wait_until(self, position: int, timeout: float = 10.0) -> None:
        """Wait until the subscription has handled everything up to ``position``."""
        if self.halted and self.position < position:
            raise TimeoutError(self.halted)  # it will not get there: say so now, not after ``timeout``
        async with asyncio.timeout(timeout):
            while self.position < position:
                self._wake.set()  # a waiter knows there is something to read before any NOTIFY
                # Also poll: the position may move while this waiter is between checks.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._progress.wait(), 0.05)

    async def _follow(self) -> None:
        async with self.store.listen(self._wake.set) as listener:
            async with self.store.pool.acquire() as conn:
                if self.poison is Poison.PARK:
                    await self.parking.create(conn)
                self.position = await self.checkpoints.load(conn, self.name)
            self.trouble = None
            log.info("subscription started", subscription=self.name, position=self.position)
            idle = 0.0
            while not self._stopping:
                if listener.is_closed():
                    raise ConnectionError("the LISTEN connection was closed")
                self._wake.clear()
                if await self._handle_next_batch():
                    idle = 0.0
                    continue
                self.caught_up.set()
                idle = await self._wait(idle)
                if self.linger and not self._stopping:
                    await asyncio.sleep(self.linger)

    async def _handle_next_batch(self) -> bool:
        async with self.store.pool.acquire() as conn:
            batch = await self.store.read_all(
                self.position,
                self.batch_size,
                types=self.types,
                category=self.category,
                connection=conn,
            )
            if not batch:
                return False
            try:
                await self._apply(conn, batch)
            except CONNECTION_ERRORS:
                raise
            except Exception as exc:
                if self.poison is None:
                    raise
                log.warning(
                    "batch failed; applying its events one by one",
                    subscription=self.name,
                    first=batch[0].global_position,
                    last=batch[-1].global_position,
                    error=repr(exc),
                )
                await self._one_by_one(conn, batch)
        if len(batch) < self.batch_size:
            # A short batch reached the end of the log as it stood: caught up, before waiters
            # woken below look (an empty read next would only say so later).
            self.caught_up.set()
        if self.after_batch is not None:
            self.after_batch(batch)
        progressed, self._progress = self._progress, asyncio.Event()
        progressed.set()
        return True

    async def _apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        async with conn.transaction():
            if not self.durable:
                await conn.execute("set local synchronous_commit = off")
            await self.handler(conn, events)
            await self.checkpoints.save(conn, self.name, events[-1].global_position)
        self.position = events[-1].global_position

    async def _one_by_one(self, conn: asyncpg.Connection, batch: list[RecordedEvent]) -> None:
        """Apply ``batch`` event by event; the one that fails ``tries`` times is poison."""
        for event in batch:
            for attempt in range(self.tries):
                try:
                    await self._apply(conn, [event])
                    break
                except CONNECTION_ERRORS:
                    raise
                except Exception as exc:  # deadlocks and the like pass on a second try; poison does not
                    if attempt + 1 < self.tries:
                        await asyncio.sleep(0.05 * 2**attempt)
                        continue
                    await self._poisoned(conn, event, exc)

    async def _poisoned(self, conn: asyncpg.Connection, event: RecordedEvent, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        where = {
            "subscription": self.name,
            "event_id": str(event.event_id),
            "position": event.global_position,
            "type": event.type,
        }
        if self.poison is Poison.HALT:
            log.error("projection halted on an event it cannot apply", **where, error=error, exc_info=exc)
            self.halted = (
                f"{self.name} cannot apply event {event.event_id} at position {event.global_position} "
                f"({event.type}): {error}"
            )
            raise Halt(self.halted) from exc
        async with conn.transaction():
            await self.parking.park(conn, self.name, event, error)
            await self.checkpoints.save(conn, self.name, event.global_position)
        self.position = event.global_position
        self.parked += 1
        log.error("event parked: the projection could not apply it and goes on", **where, error=error,
                  exc_info=exc)  # fmt: skip

    async def _wait(self, idle: float) -> float:
        """Sleep until woken; poll briefly while committed events wait behind an older transaction."""
        async with self.store.pool.acquire() as conn:
            pending = await conn.fetchval(self._pending_sql, self.position)
        if pending:
            # Events exist above us but are not safe yet: an older transaction is
            # still open, and it may never NOTIFY (it may not append at all).
            idle = min(max(idle * 2, 0.002), 0.05)
            timeout = idle
        else:
            timeout = self.fallback_interval
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass
        return idle
