"""Connections kept warm between standalone appends, so that the hot path skips the pool.

An asyncpg pool acquire and release costs about 60 µs of CPU (the release runs in a task of its
own): as much as the append's own round trip on a fast disk. The store keeps the connections it
took from the pool and reuses them for the appends that follow, most recently used first. Every
``linger`` seconds a sweep asks whether the pool has a connection to spare: if not, someone may be
waiting, and every kept connection goes back, those in use as soon as their append ends; if so,
only those that no append needed since the last sweep go back. So the pool's other users wait at
most about ``linger`` longer, and an idle store holds no connection after twice ``linger``. (Handing
every connection back each ``linger`` cost 16 writers a fifth of their throughput on the bench.)

Taking and giving back is a list pop and a list append: the bookkeeping lives in the sweep, since
with 16 writers every microsecond of the append's own Python showed in the bench (issue 12).
"""

from __future__ import annotations

import asyncio

import asyncpg


class WarmConnections:
    """Pool connections borrowed for standalone appends, kept while the pool can spare them and
    appends use them."""

    def __init__(self, pool: asyncpg.Pool, *, linger: float = 0.02, keep: int = 16) -> None:
        self.linger = linger
        self.keep = keep
        self._pool = pool
        self._idle: list[asyncpg.Connection] = []
        # The fewest connections idle at any moment since the last sweep: the ones below that mark
        # (the list's bottom, least recently used) were not needed during the whole interval.
        self._low = 0
        self._hand_back = False  # the pool had none to spare at the last sweep
        self._timer: asyncio.TimerHandle | None = None
        self._returning: set[asyncio.Task[None]] = set()
        self._closed = False

    async def take(self) -> asyncpg.Connection:
        """The most recently used idle connection, else one from the pool."""
        idle = self._idle
        while idle:
            conn = idle.pop()
            if len(idle) < self._low:
                self._low = len(idle)
            if _usable(conn):
                return conn
            self._return(conn)
        return await self._pool.acquire()

    def give_back(self, conn: asyncpg.Connection) -> None:
        """After a standalone append that ended with the connection outside a transaction: keep it
        warm, for a while. (Not checked for use here: ``take`` checks it before its next use.)"""
        if self._hand_back or self._closed or len(self._idle) >= self.keep:
            self._return(conn)
            return
        self._idle.append(conn)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.linger, self._sweep)

    def discard(self, conn: asyncpg.Connection) -> None:
        """After a failed or cancelled append: the pool resets or replaces the connection."""
        self._return(conn)

    def _sweep(self) -> None:
        """Every ``linger``: all kept connections back if the pool has none to spare, else those
        that no append needed since the last sweep."""
        self._timer = None
        pool = self._pool
        self._hand_back = pool.get_max_size() - pool.get_size() + pool.get_idle_size() <= 0
        unused = len(self._idle) if self._hand_back else self._low
        for conn in self._idle[:unused]:
            self._return(conn)
        del self._idle[:unused]
        self._low = len(self._idle)
        # Sweeping goes on while connections are kept, and until the pool can spare one again;
        # a connection given back while no sweep is due starts the next one.
        if self._idle or self._hand_back:
            self._timer = asyncio.get_running_loop().call_later(self.linger, self._sweep)

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
            self._return(self._idle.pop())
        if self._returning:
            await asyncio.wait(list(self._returning), timeout=5)


def _usable(conn: asyncpg.Connection) -> bool:
    """Open and still lent to us: when a connection closes, the pool takes it back at once, and its
    proxy then refuses every call. (Never inside a transaction: only standalone appends use it.)"""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False
