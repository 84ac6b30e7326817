"""Connections kept warm between standalone appends, so that the hot path skips the pool.

An asyncpg pool acquire and release costs about 60 µs of CPU (the release runs in a task of its
own): as much as the append's own round trip on a fast disk. The store keeps a connection it took
from the pool for up to ``linger`` seconds and reuses it for the appends in that time; then it goes
back to the pool, where anyone waiting gets it first. So the pool's other users wait at most
``linger`` longer, and an idle store holds no connection after ``linger``.
"""

from __future__ import annotations

import asyncio

import asyncpg


class WarmConnections:
    """Pool connections borrowed for standalone appends, each handed back ``linger`` s after it
    was taken."""

    def __init__(self, pool: asyncpg.Pool, *, linger: float = 0.02, keep: int = 16) -> None:
        self.linger = linger
        self.keep = keep
        self._pool = pool
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # (connection, taken from the pool at)
        self._taken_at: dict[int, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._returning: set[asyncio.Task[None]] = set()
        self._closed = False

    async def take(self) -> asyncpg.Connection:
        """The most recently used idle connection, else one from the pool."""
        while self._idle:
            conn, taken_at = self._idle.pop()
            if _usable(conn):
                self._taken_at[id(conn)] = taken_at
                return conn
            self._return(conn)
        conn = await self._pool.acquire()
        self._taken_at[id(conn)] = asyncio.get_running_loop().time()
        return conn

    def give_back(self, conn: asyncpg.Connection) -> None:
        """After a standalone append that ended cleanly: keep the connection warm, for a while."""
        loop = asyncio.get_running_loop()
        taken_at = self._taken_at.pop(id(conn))
        if (
            self._closed
            or loop.time() - taken_at >= self.linger
            or len(self._idle) >= self.keep
            or not _usable(conn)
        ):
            self._return(conn)
            return
        self._idle.append((conn, taken_at))
        if self._timer is None:
            self._timer = loop.call_later(self.linger, self._sweep)

    def discard(self, conn: asyncpg.Connection) -> None:
        """After a failed or cancelled append: the pool resets or replaces the connection."""
        self._taken_at.pop(id(conn), None)
        self._return(conn)

    def _sweep(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        due = loop.time() - self.linger
        keep = []
        for conn, taken_at in self._idle:
            if taken_at <= due:
                self._return(conn)
            else:
                keep.append((conn, taken_at))
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
