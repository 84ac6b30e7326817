"""The live feed: each committed batch of the read model, as airing updates, to dashboards (SSE).

An update carries the airing's current status and figures and the global
position of the metrics log it reflects, which is also its SSE id: the figures
are read after the read model has committed that position, so they reflect it
(or later), never less. Dashboards get every batch's updates at once; the
updates with figures also go to the bus publisher (``adapters.bus_publisher``),
which sends them on at its own pace. A client that reconnects with
``Last-Event-ID`` gets the current state of every airing that changed after
that position up to the position the read model has reached, under that
position's id; what the read model applies later comes live, so it misses nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from services.common.supervisor import Supervisor
from services.eventstore.port import RecordedEvent
from services.metrics.adapters.generations import StatisticsGenerations
from services.metrics.app.queries import Interest

log = structlog.get_logger(__name__)


@dataclass(eq=False)
class Listener:
    interest: Interest
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=10_000))
    overflowed: bool = False  # too far behind: the client is closed and resumes with Last-Event-ID


def airings_in(batch: Iterable[RecordedEvent]) -> set[uuid.UUID]:
    touched = set()
    for e in batch:
        value = e.data.get("airing_id") if isinstance(e.data, dict) else None
        if value:
            touched.add(uuid.UUID(value))
    return touched


class LiveFeed:
    """Fans the read model's committed batches out to the dashboards' listeners."""

    def __init__(
        self,
        generations: StatisticsGenerations,
        *,
        on_updates: Callable[[list[dict[str, Any]], int], None] | None = None,
    ) -> None:
        """``on_updates(updates, position)``: also told every batch's updates (the bus publisher)."""
        self.generations = generations
        self.on_updates = on_updates
        self.listeners: set[Listener] = set()
        self._pending: set[uuid.UUID] = set()
        self._position = 0
        self._wake = asyncio.Event()
        self._supervisor: Supervisor | None = None

    def on_batch(self, batch: list[RecordedEvent]) -> None:
        """Called by the read model's subscription after each commit (never blocks it)."""
        self._pending |= airings_in(batch)
        self._position = batch[-1].global_position
        self._wake.set()

    def start(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor
        supervisor.start("live-feed", self._run)

    async def stop(self) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop("live-feed", timeout=0)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            airings, position = self._pending, self._position
            self._pending = set()
            try:
                updates = await self.updates(airings, position)
            except Exception as exc:  # a bad moment of the database must not end the feed
                log.warning("live feed could not read updates", error=repr(exc))
                self._pending |= airings
                await asyncio.sleep(0.5)
                self._wake.set()
                continue
            self.deliver(updates, position)
            if self.on_updates is not None:
                self.on_updates(updates, position)

    async def updates(self, airings: set[uuid.UUID], position: int) -> list[dict[str, Any]]:
        if not airings:
            return []
        s = self.generations.schema
        async with self.generations.pool.acquire() as conn:
            rows = await conn.fetch(
                f"""select a.airing_id, a.campaign_id, a.resource_id, a.kind, a.status, a.title, a.language,
                           coalesce(jsonb_object_agg(f.counter, jsonb_build_object(
                               'value', f.value, 'sampled_at', f.sampled_at))
                               filter (where f.counter is not null), '{{}}') as counters
                    from {s}.airings a left join {s}.figures f on f.airing_id = a.airing_id
                    where a.airing_id = any($1::uuid[]) group by a.airing_id order by a.airing_id""",
                list(airings),
            )
        return [
            {
                "airing_id": str(r["airing_id"]),
                "campaign_id": str(r["campaign_id"]) if r["campaign_id"] else None,
                "resource_id": r["resource_id"],
                "kind": r["kind"],
                "status": r["status"],
                "title": r["title"],
                "language": r["language"],
                "counters": {k: v["value"] for k, v in sorted(r["counters"].items())},
                "sampled_at": max((v["sampled_at"] for v in r["counters"].values()), default=None),
                "position": position,
            }
            for r in rows
        ]

    def deliver(self, updates: list[dict[str, Any]], position: int) -> None:
        for listener in list(self.listeners):
            for update in updates:
                if listener.interest.wants(update):
                    try:
                        listener.queue.put_nowait((position, update))
                    except asyncio.QueueFull:
                        listener.overflowed = True
                        self.listeners.discard(listener)
                        break

    async def since(self, interest: Interest, after: int) -> tuple[list[dict[str, Any]], int]:
        """The current state of every airing the interest covers that changed after ``after``, and
        the position those figures reflect: the read model's, taken before its tables are read."""
        store = self.generations.store
        reached = self.generations.position
        touched: set[uuid.UUID] = set()
        position = after
        while position < reached:
            batch = await store.read_all(position, 5000, until=reached)
            if not batch:
                break
            touched |= airings_in(batch)
            position = batch[-1].global_position
        updates = await self.updates(touched, max(reached, after))
        return [u for u in updates if interest.wants(u)], max(reached, after)
