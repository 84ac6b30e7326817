"""Group commit on the client: standalone appends that arrive while others are in flight travel
together, in one statement and one commit.

With many writers (16 HTTP handlers appending at once) each commit costs a round trip, a plan, a
WAL flush and a wake-up on both sides; appends that queue behind ``flights`` appends already in
flight go as one group instead. A group is all or nothing in PostgreSQL, but not for its callers:
when it is refused (a version conflict, a re-send, a race), each of its appends runs again on its
own, with the single append's checks, retries and answers, as if it had never been grouped. A lone
writer never waits: with fewer than ``flights`` appends in flight an append goes at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from services.eventstore.port import AppendResult, StreamAppend

MAX_GROUP = 64
"""Appends in one group: enough to cover the writers of one process, few enough to stay one page."""

Single = Callable[[StreamAppend], Awaitable[AppendResult]]
Together = Callable[[Sequence[StreamAppend]], Awaitable[list[AppendResult]]]


class AppendGroups:
    """Lets ``flights`` appends run at once and groups those that arrive meanwhile."""

    def __init__(self, single: Single, together: Together, *, flights: int = 4) -> None:
        self.flights = flights
        self._single = single
        self._together = together
        self._flying = 0
        self._queued: list[tuple[StreamAppend, asyncio.Future[AppendResult]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def append(self, item: StreamAppend) -> AppendResult:
        if self._flying < self.flights and not self._queued:
            self._flying += 1
            try:
                return await self._single(item)
            finally:
                self._landed()
        done: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._queued.append((item, done))
        return await done

    def _landed(self) -> None:
        self._flying -= 1
        while self._queued and self._flying < self.flights:
            group, self._queued = self._queued[:MAX_GROUP], self._queued[MAX_GROUP:]
            self._flying += 1
            task = asyncio.get_running_loop().create_task(self._fly(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fly(self, group: list[tuple[StreamAppend, asyncio.Future[AppendResult]]]) -> None:
        try:
            group = [(item, done) for item, done in group if not done.done()]  # callers gone
            if len(group) > 1:
                try:
                    results = await self._together([item for item, _ in group])
                except Exception:
                    # Each again on its own, below: a refused group wrote nothing, and if a lost
                    # connection hides a commit, the event ids answer each re-run with its original.
                    pass
                else:
                    for (_, done), result in zip(group, results, strict=True):
                        if not done.done():
                            done.set_result(result)
                    return
            await asyncio.gather(*(self._alone(item, done) for item, done in group))
        finally:
            self._landed()

    async def _alone(self, item: StreamAppend, done: asyncio.Future[AppendResult]) -> None:
        try:
            result = await self._single(item)
        except BaseException as exc:  # the caller's, whatever it is
            if not done.done():
                done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if not done.done():
                done.set_result(result)
