"""The live feed: each committed batch of the read model, as airing updates, to dashboards and the bus.

An update carries the airing's current status and figures and the global
position of the metrics log it reflects, which is also its SSE id: the figures
are read after the read model has committed that position, so they reflect it
(or later), never less. Dashboards get every batch's updates at once; the bus
gets ``metrics.StatisticsUpdated`` at most once per ``bus_interval`` per airing,
with its newest figures. A client that reconnects with ``Last-Event-ID`` gets
the current state of every airing that changed after that position up to the
position the read model has reached, under that position's id; what the read
model applies later comes live, so it misses nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import structlog

from contracts.events.metrics import CounterFigure, StatisticsUpdated
from services.bus.topology import declare_exchanges
from services.common.supervisor import Supervisor
from services.eventstore.port import RecordedEvent
from services.metrics.adapters.generations import ReadModel

log = structlog.get_logger(__name__)
BUS_CHUNK = 25


@dataclass(frozen=True)
class Interest:
    """What a dashboard follows: a campaign, a resource (a commune), an airing, or everything."""

    campaign_id: uuid.UUID | None = None
    resource_id: str | None = None
    airing_id: uuid.UUID | None = None

    def wants(self, update: dict[str, Any]) -> bool:
        return (
            (self.campaign_id is None or update["campaign_id"] == str(self.campaign_id))
            and (self.resource_id is None or update["resource_id"] == self.resource_id)
            and (self.airing_id is None or update["airing_id"] == str(self.airing_id))
        )


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
    def __init__(self, read_model: ReadModel, *, bus_interval: float = 1.0) -> None:
        """``bus_interval``: the least time between two publications to the bus; what changes
        meanwhile goes out together, the newest figures of each airing once."""
        self.read_model = read_model
        self.bus_interval = bus_interval
        self.listeners: set[Listener] = set()
        self.exchange: aio_pika.abc.AbstractExchange | None = None
        self._pending: set[uuid.UUID] = set()
        self._position = 0
        self._wake = asyncio.Event()
        self._supervisor: Supervisor | None = None
        # Updates for the bus, newest per airing: published beside the dashboards' feed, not in
        # its way (a broker round trip per update would hold back the next SSE messages).
        self._outbox: dict[str, tuple[int, dict[str, Any]]] = {}
        self._outbox_ready = asyncio.Event()
        self.published = 0

    def on_batch(self, batch: list[RecordedEvent]) -> None:
        """Called by the read model's subscription after each commit (never blocks it)."""
        self._pending |= airings_in(batch)
        self._position = batch[-1].global_position
        self._wake.set()

    def start(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor
        supervisor.start("live-feed", self._run)
        supervisor.start("live-publisher", self._publish_outbox)

    async def stop(self) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop("live-feed", timeout=0)
            await self._supervisor.stop("live-publisher", timeout=0)

    async def connect_bus(self, connection: aio_pika.abc.AbstractRobustConnection) -> None:
        channel = await connection.channel(publisher_confirms=True)
        self.exchange = await declare_exchanges(channel)

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
            if self.exchange is not None:
                for update in updates:
                    if update["counters"]:
                        self._outbox[update["airing_id"]] = (position, update)
                self._outbox_ready.set()

    async def updates(self, airings: set[uuid.UUID], position: int) -> list[dict[str, Any]]:
        if not airings:
            return []
        s = self.read_model.schema
        async with self.read_model.store.pool.acquire() as conn:
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

    async def _publish_outbox(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            waiting, self._outbox = self._outbox, {}
            if waiting:
                started = asyncio.get_running_loop().time()
                await self.publish(list(waiting.values()))
                # A busy airing changes many times a second; other systems get its newest figures
                # once per interval, and the dashboards' feed keeps the CPU it would have cost.
                await asyncio.sleep(self.bus_interval - (asyncio.get_running_loop().time() - started))

    async def publish(self, updates: list[tuple[int, dict[str, Any]]]) -> None:
        """(position, update) pairs as ``metrics.StatisticsUpdated``, confirmed together."""
        if self.exchange is None:
            return
        results: list = []
        for i in range(0, len(updates), BUS_CHUNK):  # small chunks: the event loop stays responsive
            results += await asyncio.gather(
                *(self._publish_one(update, position) for position, update in updates[i : i + BUS_CHUNK]),
                return_exceptions=True,
            )
        failed = [r for r in results if isinstance(r, BaseException)]
        self.published += len(results) - len(failed)
        if failed:
            # Derived and repeated with the next change: a dashboard elsewhere misses one beat.
            log.warning("StatisticsUpdated not published", error=repr(failed[0]), count=len(failed))

    async def _publish_one(self, update: dict[str, Any], position: int) -> None:
        event = StatisticsUpdated(
            airing_id=update["airing_id"],
            campaign_id=update["campaign_id"],
            resource_id=update["resource_id"],
            position=position,
            counters={
                name: CounterFigure(value=value, sampled_at=update["sampled_at"])
                for name, value in update["counters"].items()
            },
        )
        await self.exchange.publish(
            aio_pika.Message(
                event.__pydantic_serializer__.to_json(event),
                content_type="application/json",
                type=StatisticsUpdated.wire_name,
                message_id=f"{update['airing_id']}@{position}",
            ),
            routing_key=StatisticsUpdated.wire_name,
            mandatory=False,  # a broadcast: with nobody bound, the broker drops it (no basic.return)
        )

    async def since(self, interest: Interest, after: int) -> tuple[list[dict[str, Any]], int]:
        """The current state of every airing the interest covers that changed after ``after``, and
        the position those figures reflect: the read model's, taken before its tables are read."""
        store = self.read_model.store
        reached = self.read_model.position
        touched: set[uuid.UUID] = set()
        position = after
        async with store.pool.acquire() as conn:
            while position < reached:
                batch = await store.read_all(position, 5000, connection=conn)
                batch = [e for e in batch if e.global_position <= reached]
                if not batch:
                    break
                touched |= airings_in(batch)
                position = batch[-1].global_position
        updates = await self.updates(touched, max(reached, after))
        return [u for u in updates if interest.wants(u)], max(reached, after)
