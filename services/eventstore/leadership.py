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

from services.common.supervisor import Halt
from services.eventstore.checkpoints import CheckpointStore

log = structlog.get_logger(__name__)


class Worker(Protocol):
    """Long-running work that ends soon after ``stop()``."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class SingleActive:
    """Runs a fresh ``make()`` worker while this process holds the lock ``name``; one process at a time.

    The lock lives on a connection of its own (``dsn``), outside every pool: ending that
    session is how the lock is let go, whatever state the connection is in.
    """

    def __init__(self, dsn: str, name: str, make: Callable[[], Any], *, poll: float = 1.0) -> None:
        self.dsn = dsn
        self.name = name
        self.make = make
        self.poll = poll
        self.worker: Any | None = None
        self.halted: str | None = None  # why the work stopped for good here (it raised Halt)
        self.leading = asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Until :meth:`stop`: wait for the lock, run the worker while holding it, let go when it ends."""
        conn: asyncpg.Connection | None = None
        try:
            while not self._stopping.is_set():
                failure: BaseException | None = None
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(self.dsn, timeout=10)
                    if await conn.fetchval("select pg_try_advisory_lock(hashtextextended($1, 0))", self.name):
                        failure = await self._lead(conn)
                        conn.terminate()  # the lock goes with the session, whatever else went wrong
                        conn = None
                except Exception as exc:  # a leadership loop must outlive any failure of its connection
                    log.warning("leadership: trying again", work=self.name, error=repr(exc))
                    if conn is not None:
                        conn.terminate()
                        conn = None
                if failure is not None:
                    if isinstance(failure, Halt):
                        self.halted = str(failure)
                    # The lock is released (another replica may lead meanwhile); the work's own failure
                    # goes to whoever runs this: the service's supervisor logs it, restarts with
                    # back-off, or keeps it down when it halted.
                    raise failure
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll)
        finally:
            if conn is not None:
                conn.terminate()

    def stop(self) -> None:
        self._stopping.set()
        if self.worker is not None:
            self.worker.stop()

    async def _lead(self, conn: asyncpg.Connection) -> BaseException | None:
        """Run the work while the lock holds; the work's failure, if it failed."""
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
        return task.exception() if not task.cancelled() else None

    async def _hold(self, conn: asyncpg.Connection, task: asyncio.Task) -> None:
        """Keep the lock while the work runs; notice a lost session (the lock is gone with it).

        A process cut off from the database keeps running its work until this notices
        (about ``poll`` seconds, at most ``poll`` + 2): another process may take the
        lock in that window. A killed process leaves no such window.
        """
        while not self._stopping.is_set() and not task.done():
            done, _ = await asyncio.wait({task}, timeout=self.poll)
            if done or self._stopping.is_set():
                return
            try:
                await asyncio.wait_for(conn.fetchval("select 1"), max(self.poll, 2.0))
            except Exception as exc:
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
                if self.leader.halted:
                    raise TimeoutError(self.leader.halted)  # it will not get there: say so now
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
