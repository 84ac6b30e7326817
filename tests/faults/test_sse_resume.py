"""The SSE reconnect race, 100 times: a dashboard that reconnects with Last-Event-ID loses no update.

Each cycle posts a new reading of a livestream and, 0–10 ms after sending it
(before its answer), drops the dashboard's connection and reconnects with the
last id it saw; the new reading must then arrive. The id of every message must
name a position its figures reflect, else the catch-up sends old figures under
a new id and the live update that follows is dropped as already sent.
"""

from __future__ import annotations

import asyncio
import random

import aiohttp
import orjson

from tests.faults.conftest import COLLECTOR, VIEWER
from tests.faults.workload import planned_and_known, sample

CYCLES = 100


class Dashboard:
    """An EventSource as a browser runs it: remembers the last id and what it was told."""

    def __init__(self, url: str, airing_id: str) -> None:
        self.url = url
        self.airing_id = airing_id
        self.last_id: str | None = None
        self.views = 0
        self.ids: list[int] = []
        self._response: aiohttp.ClientResponse | None = None
        self._reader: asyncio.Task | None = None

    async def connect(self, http: aiohttp.ClientSession) -> None:
        headers = VIEWER | ({"Last-Event-ID": self.last_id} if self.last_id else {})
        self._response = await http.get(self.url, params={"airing_id": self.airing_id}, headers=headers)
        assert self._response.status == 200
        self._reader = asyncio.create_task(self._read(self._response))

    async def drop(self) -> None:
        self._reader.cancel()
        self._response.close()
        await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        event_id, data = None, []
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    self._dispatch(event_id, "\n".join(data))
                event_id, data = None, []
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "id":
                    event_id = value
                elif name == "data":
                    data.append(value)

    def _dispatch(self, event_id: str | None, data: str) -> None:
        if event_id is not None:
            self.last_id = event_id
            self.ids.append(int(event_id))
        update = orjson.loads(data)
        self.views = max(self.views, (update.get("counters") or {}).get("views", 0))


async def test_a_hundred_reconnects_racing_new_readings_lose_no_update(product):
    [airing_id] = await planned_and_known(product, 1)
    lost = []
    async with aiohttp.ClientSession() as http, aiohttp.ClientSession() as collector:
        dashboard = Dashboard(f"{product.metrics.url}/v1/stream", airing_id)
        await dashboard.connect(http)

        async def post(minute: int) -> None:
            body = {"items": [sample(airing_id, minute, "facebook")]}
            async with collector.post(f"{product.metrics.url}/v1/samples", json=body, headers=COLLECTOR) as r:
                assert r.status == 200, await r.text()

        for cycle in range(1, CYCLES + 1):
            posting = asyncio.create_task(post(cycle))
            await asyncio.sleep(random.uniform(0, 0.01))
            await dashboard.drop()
            await dashboard.connect(http)
            await posting
            try:
                async with asyncio.timeout(5):
                    while dashboard.views < 10 * cycle:  # noqa: ASYNC110 - the reader task moves it
                        await asyncio.sleep(0.005)
            except TimeoutError:
                lost.append(cycle)
                dashboard.views = 10 * cycle  # go on; the cycle is counted as lost
        await dashboard.drop()
    assert lost == [], f"updates lost after reconnecting in cycles {lost}"
    assert dashboard.ids == sorted(dashboard.ids), "ids never go back"
    # 101 dashboards left: neither a 5xx in /metrics nor an error in the log.
    async with aiohttp.ClientSession() as http, http.get(f"{product.metrics.url}/metrics") as r:
        counted = [line for line in (await r.text()).splitlines() if 'route="/v1/stream"' in line]
    assert counted and not [line for line in counted if 'status="5' in line], counted
    log = product.metrics.log_file.read_text()
    assert '"level": "error"' not in log and "Traceback" not in log
