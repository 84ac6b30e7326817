"""Single-active work among replicas: only the holder of a PostgreSQL advisory lock runs it.

Several processes of one service share a database. A relay, a projection or a
keeper must run in one of them at a time: two relays would double the traffic,
two projections on one checkpoint fight over the same rows. Each process runs a
:class:`SingleActive` per piece of work; the one whose dedicated connection holds
the session-level advisory lock ``hashtextextended(name, 0)`` runs the work, the
others try again every ``poll`` seconds. When the holder dies (``kill -9``, a
lost connection), PostgreSQL ends its session and frees the lock, and another
process takes over within about ``poll`` seconds, from the work's checkpoint.

:class:`CheckpointWait` lets a process that is not running a projection wait for
it all the same (read-your-writes on every replica), on its committed checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import asyncpg
import structlog

from services.eventstore.checkpoints import CheckpointStore

log = structlog.get_logger(__name__)


class Worker(Protocol):
    """Long-running work that ends soon after ``stop()``."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class SingleActive:
    """Runs a fresh ``make()`` worker while this process holds the lock ``name``; one process at a time."""

    def __init__(self, pool: asyncpg.Pool, name: str, make: Callable[[], Any], *, poll: float = 1.0) -> None:
        self.pool = pool
        self.name = name
        self.make = make
        self.poll = poll
        self.worker: Any | None = None
        self.leading = asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Until :meth:`stop`: wait for the lock, run the worker while holding it, let go when it fails."""
        while not self._stopping.is_set():
            try:
                await self._lead_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("leadership: database unreachable; trying again", work=self.name, error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.poll)

    def stop(self) -> None:
        self._stopping.set()
        if self.worker is not None:
            self.worker.stop()

    async def _lead_once(self) -> None:
        failure: BaseException | None = None
        conn = await self.pool.acquire()
        try:
            if not await conn.fetchval("select pg_try_advisory_lock(hashtextextended($1, 0))", self.name):
                return
            log.info("leading: this process runs the work", work=self.name)
            self.worker = self.make()
            self.leading.set()
            task = asyncio.create_task(self.worker.run(), name=self.name)
            try:
                await self._hold(conn, task)
            finally:
                self.leading.clear()
                self.worker.stop()
                await asyncio.wait({task}, timeout=5)
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                self.worker = None
                failure = task.exception() if not task.cancelled() else None
                if not conn.is_closed():
                    try:
                        await asyncio.wait_for(
                            conn.execute("select pg_advisory_unlock(hashtextextended($1, 0))", self.name), 2
                        )
                    except Exception:  # whatever went wrong, the lock must not linger
                        # A session lock outlives the pool's reset: a connection that may still hold
                        # it must not go back to the pool.
                        conn.terminate()
        finally:
            await self.pool.release(conn)
        if failure is not None:
            # The lock is released: another replica may lead meanwhile. The failure goes to whoever
            # runs this (the service's supervisor logs it, restarts with back-off or keeps it halted).
            raise failure

    async def _hold(self, conn: asyncpg.Connection, task: asyncio.Task) -> None:
        """Keep the lock while the work runs; notice a lost session (the lock is gone with it)."""
        while not self._stopping.is_set() and not task.done():
            done, _ = await asyncio.wait({task}, timeout=self.poll)
            if done or self._stopping.is_set():
                return
            try:
                await asyncio.wait_for(conn.fetchval("select 1"), max(self.poll, 2.0))
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("leadership lost with its connection", work=self.name, error=repr(exc))
                return


class CheckpointWait:
    """Read-your-writes on any replica: wait for a projection's committed checkpoint.

    In the process that runs the projection the subscription itself answers (no
    polling); elsewhere the checkpoint row in the database does, since it commits
    together with the rows it covers.
    """

    def __init__(self, leader: SingleActive, pool: asyncpg.Pool, schema: str, name: str) -> None:
        self.leader = leader
        self.pool = pool
        self.name = name
        self._checkpoints = CheckpointStore(schema)
        self._seen = 0

    @property
    def position(self) -> int:
        """The newest position known to be applied (the subscription's own, or the last one read)."""
        worker = self.leader.worker
        if worker is not None:
            self._seen = max(self._seen, worker.position)
        return self._seen

    async def wait_until(self, position: int, timeout: float = 10.0) -> None:
        """Wait until the projection has applied everything up to ``position``."""
        async with asyncio.timeout(timeout):
            delay = 0.002
            while self.position < position:
                worker = self.leader.worker
                if worker is not None:
                    await worker.wait_until(position, timeout)
                    return
                async with self.pool.acquire() as conn:
                    self._seen = max(self._seen, await self._checkpoints.load(conn, self.name))
                if self._seen >= position:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
