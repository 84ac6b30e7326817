"""The collector simulator: every few seconds, one more reading of every livestream that is live.

It reads what is live from the scheduler, starts from the latest figures the
metrics service holds (so a restart goes on where it stopped), and posts the
next cumulative reading as a platform collector would. When a livestream's
planned end has passed, it ends it as the page's operator would.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp

from services.demo.client import Api, ApiError
from services.demo.counters import grow
from services.demo.loader import Tokens


class Simulator:
    def __init__(
        self,
        scheduler: Api,
        metrics: Api,
        tokens: Tokens,
        *,
        seed: int = 9,
        say: Callable[[str], None] = print,
    ) -> None:
        self.scheduler = scheduler
        self.metrics = metrics
        self.tokens = tokens
        self.rng = random.Random(seed)
        self.figures: dict[str, dict[str, int]] = {}
        self.say = say

    async def live(self) -> list[dict]:
        page = await self.scheduler.call(
            "GET",
            "/v1/airings",
            self.tokens.viewer,
            params={"kind": "livestream", "status": "live", "limit": 100},
        )
        return page["items"]

    async def tick(self) -> int:
        """One round of readings; returns how many livestreams were counted."""
        now = datetime.now(UTC)
        counted = 0
        for stream in await self.live():
            airing_id = stream["airing_id"]
            if datetime.fromisoformat(stream["ends_at"]) <= now:
                operator = self.tokens.operator(stream["resource_id"])
                await self.scheduler.call("POST", f"/v1/airings/{airing_id}/end", operator, {})
                self.figures.pop(airing_id, None)
                self.say(f"ended livestream {airing_id}")
                continue
            if airing_id not in self.figures:
                self.figures[airing_id] = await self.latest(airing_id)
            reading = grow(self.figures[airing_id], self.rng)
            item = {
                "airing_id": airing_id,
                "sampled_at": now.isoformat(),
                "source": "simulator",
                "counters": reading,
            }
            result = await self.metrics.call("POST", "/v1/samples", self.tokens.collector, {"items": [item]})
            if result["rejected"]:
                self.say(f"sample rejected: {result['rejected']}")
                continue
            self.figures[airing_id] = reading
            counted += 1
        return counted

    async def latest(self, airing_id: str) -> dict[str, int]:
        try:
            metrics = await self.metrics.call("GET", f"/v1/airings/{airing_id}/metrics", self.tokens.viewer)
        except ApiError as error:
            if error.status != 404:
                raise
            return {}
        return dict(metrics["counters"])

    async def run(self, every: float = 3.0, rounds: int | None = None) -> None:
        self.say(f"counting every live livestream every {every:g} s")
        done = 0
        while rounds is None or done < rounds:
            try:
                await self.tick()
            except (TimeoutError, ApiError, aiohttp.ClientError) as error:
                # A service restarting is no reason to stop counting.
                self.say(f"collector round failed, trying again: {error}")
            done += 1
            await asyncio.sleep(every)


async def simulate(
    scheduler_url: str, metrics_url: str, secret: str, every: float = 3.0, say: Callable[[str], None] = print
) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        simulator = Simulator(Api(session, scheduler_url), Api(session, metrics_url), Tokens(secret), say=say)
        await simulator.run(every)
