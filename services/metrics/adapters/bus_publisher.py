"""The bus publisher: the live feed's updates as ``metrics.StatisticsUpdated`` on ``loa.events``.

Other systems get an airing's newest figures at most once per ``interval``: what
changes meanwhile goes out together, each airing once. Publishing runs beside
the dashboards' feed, not in its way (a broker round trip per update would hold
back the next SSE messages). The updates are derived and repeated with the next
change, so one that cannot be published is logged, not retried.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
import structlog

from contracts.events.metrics import CounterFigure, StatisticsUpdated
from services.bus.topology import declare_exchanges
from services.common.supervisor import Supervisor

log = structlog.get_logger(__name__)
CHUNK = 25
TASK = "live-publisher"


class StatisticsPublisher:
    def __init__(self, *, interval: float = 1.0) -> None:
        """``interval``: the least time between two publications to the bus."""
        self.interval = interval
        self.exchange: aio_pika.abc.AbstractExchange | None = None
        self.published = 0
        self._outbox: dict[str, tuple[int, dict[str, Any]]] = {}  # newest update per airing
        self._ready = asyncio.Event()
        self._supervisor: Supervisor | None = None

    async def connect(self, connection: aio_pika.abc.AbstractRobustConnection) -> None:
        channel = await connection.channel(publisher_confirms=True)
        self.exchange = await declare_exchanges(channel)

    def start(self, supervisor: Supervisor) -> None:
        self._supervisor = supervisor
        supervisor.start(TASK, self._run)

    async def stop(self) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop(TASK, timeout=0)

    def on_updates(self, updates: list[dict[str, Any]], position: int) -> None:
        """The live feed's updates of one batch (never blocks it): those with figures wait here."""
        if self.exchange is None:
            return
        for update in updates:
            if update["counters"]:
                self._outbox[update["airing_id"]] = (position, update)
        self._ready.set()

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            waiting, self._outbox = self._outbox, {}
            if waiting:
                started = asyncio.get_running_loop().time()
                await self.publish(list(waiting.values()))
                # A busy airing changes many times a second; other systems get its newest figures
                # once per interval, and the dashboards' feed keeps the CPU it would have cost.
                await asyncio.sleep(self.interval - (asyncio.get_running_loop().time() - started))

    async def publish(self, updates: list[tuple[int, dict[str, Any]]]) -> None:
        """(position, update) pairs as ``metrics.StatisticsUpdated``, confirmed together."""
        if self.exchange is None:
            return
        results: list = []
        for i in range(0, len(updates), CHUNK):  # small chunks: the event loop stays responsive
            results += await asyncio.gather(
                *(self._publish_one(update, position) for position, update in updates[i : i + CHUNK]),
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
