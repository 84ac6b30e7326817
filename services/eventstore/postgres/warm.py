"""Connections kept warm between standalone appends, so that the hot path skips the pool.

An asyncpg pool acquire and release costs about 60 µs of CPU (the release runs in a task of its
own): as much as the append's own round trip on a fast disk. The store keeps a connection it took
from the pool and reuses it for the appends that follow. Every ``linger`` seconds it asks whether
the pool has a connection to spare: if so, nobody can be waiting for this one and it stays warm;
if not, it goes back, where anyone waiting gets it first. So the pool's other users wait at most
``linger`` longer (twice that at worst: the answer is asked once per ``linger`` for all the
store's connections, since asking walks every connection of the pool), and an idle store holds no
connection after twice ``linger``. (Handing every
connection back each ``linger`` cost 16 writers a fifth of their throughput on the bench.)
"""

from __future__ import annotations

import asyncio

import asyncpg


class WarmConnections:
    """Pool connections borrowed for standalone appends, each handed back when it was not used for
    ``linger`` s, or after ``linger`` s of use when the pool has none to spare."""

    def __init__(self, pool: asyncpg.Pool, *, linger: float = 0.02, keep: int = 16) -> None:
        self.linger = linger
        self.keep = keep
        self._pool = pool
        # (connection, when taken from the pool or last found not wanted there, when last used)
        self._idle: list[tuple[asyncpg.Connection, float, float]] = []
        self._taken_at: dict[int, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        # The pool's last answer to "a connection to spare?", and when it was asked.
        self._spare = True
        self._spare_asked_at = float("-inf")
        self._returning: set[asyncio.Task[None]] = set()
        self._closed = False

    async def take(self) -> asyncpg.Connection:
        """The most recently used idle connection, else one from the pool."""
        while self._idle:
            conn, taken_at, _ = self._idle.pop()
            if _usable(conn):
                self._taken_at[id(conn)] = taken_at
                return conn
            self._return(conn)
        conn = await self._pool.acquire()
        self._taken_at[id(conn)] = asyncio.get_running_loop().time()
        return conn

    def give_back(self, conn: asyncpg.Connection) -> None:
        """After a standalone append that ended cleanly: keep the connection warm, for a while.

        (Not checked for use here: ``take`` checks it before its next use.)"""
        loop = asyncio.get_running_loop()
        taken_at = self._taken_at.pop(id(conn))
        if self._closed or len(self._idle) >= self.keep:
            self._return(conn)
            return
        now = loop.time()
        if now - taken_at >= self.linger:
            if not self._pool_has_spare(now):
                self._return(conn)
                return
            taken_at = now
        self._idle.append((conn, taken_at, now))
        if self._timer is None:
            self._timer = loop.call_later(self.linger, self._sweep)

    def discard(self, conn: asyncpg.Connection) -> None:
        """After a failed or cancelled append: the pool resets or replaces the connection."""
        self._taken_at.pop(id(conn), None)
        self._return(conn)

    def _pool_has_spare(self, now: float) -> bool:
        """Whether the pool could lend a connection without waiting (nobody waits for one), as it
        answered at most ``linger`` s ago: counting walks the pool's connections, which cost 16
        writers some 3 % of their throughput when each of them asked every ``linger``."""
        if now - self._spare_asked_at >= self.linger:
            pool = self._pool
            self._spare = pool.get_max_size() - pool.get_size() + pool.get_idle_size() > 0
            self._spare_asked_at = now
        return self._spare

    def _sweep(self) -> None:
        """Hand back the connections that no append used for ``linger`` s."""
        self._timer = None
        loop = asyncio.get_running_loop()
        due = loop.time() - self.linger
        keep = []
        for entry in self._idle:
            if entry[2] <= due:
                self._return(entry[0])
            else:
                keep.append(entry)
        self._idle = keep
        if keep:
            self._timer = loop.call_later(self.linger, self._sweep)

    def _return(self, conn: asyncpg.Connection) -> None:
        task = asyncio.get_running_loop().create_task(self._pool.release(conn))
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)

    async def close(self) -> None:
        """Hand every kept connection back to the pool (before the pool closes)."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._idle:
            self._return(self._idle.pop()[0])
        if self._returning:
            await asyncio.wait(list(self._returning), timeout=5)


def _usable(conn: asyncpg.Connection) -> bool:
    """Open, outside a transaction, and still lent to us: when a connection closes, the pool takes
    it back at once, and its proxy then refuses every call."""
    try:
        return not conn.is_closed() and not conn.is_in_transaction()
    except asyncpg.InterfaceError:
        return False
