"""Wake-ups for subscribers: NOTIFY after appends commit, LISTEN on a pooled connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
import structlog

log = structlog.get_logger(__name__)


class Notifier:
    """Wakes subscribers after commits: those of this process at once, the others by a NOTIFY
    sent outside the appending transaction and coalesced (one per ``interval`` in a burst).

    NOTIFY inside the appending transaction would take PostgreSQL's global
    notify-queue lock until commit and so serialise every writer's commit; a
    wake-up sent after commit costs one cheap statement per burst instead.
    """

    def __init__(self, pool: asyncpg.Pool, channel: str, interval: float = 0.02) -> None:
        self.interval = interval
        self.local: set[Callable[[], None]] = set()
        """Callbacks of this process's listeners, called on every poke."""
        self._pool = pool
        self._channel = channel
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sql = f"set local synchronous_commit = off; notify {channel}"

    def poke(self) -> None:
        for callback in self.local:
            callback()
        self._wanted.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._wanted.is_set():
            self._wanted.clear()
            try:
                # One implicit transaction: NOTIFY takes a transaction id, and
                # waiting for its commit record to reach disk would buy nothing.
                await self._pool.execute(self._sql)
            except (
                asyncpg.PostgresError,
                OSError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
            ) as exc:
                # Subscribers fall back to a timed read; a lost wake-up only delays them.
                log.warning("notify failed", channel=self._channel, error=str(exc))
                return
            # The first wake-up of a burst goes out at once; the rest of the burst
            # shares one NOTIFY per interval instead of one per append.
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(self._task, 2)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()


@asynccontextmanager
async def listening(
    pool: asyncpg.Pool, channel: str, callback: Callable[[], None]
) -> AsyncIterator[asyncpg.Connection]:
    """Hold a pooled connection that LISTENs on ``channel``; ``callback()`` runs on every wake-up.

    The connection goes back to the pool (without its listener) when the block ends.
    """

    def on_notify(*_: object) -> None:
        callback()

    async with pool.acquire() as conn:
        await conn.add_listener(channel, on_notify)
        try:
            yield conn
        finally:
            if not conn.is_closed():
                await conn.remove_listener(channel, on_notify)
