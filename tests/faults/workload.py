"""What the fault tests send, and what they remember of the answers: the sender's own expected figures."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aio_pika
import aiohttp
import orjson

from tests.faults.conftest import COLLECTOR, PLANNER, VIEWER, Product

FANPAGE = "page:facebook:bhxh-dak-lak"
START = datetime(2023, 8, 1, 8, 0)
SAMPLES = "metrics.SampleRecorded"


@dataclass
class Answers:
    """Every HTTP answer a test got: (when it was sent, status; 0 for no answer at all)."""

    seen: list[tuple[float, int]] = field(default_factory=list)

    def note(self, sent: float, status: int) -> None:
        self.seen.append((sent, status))

    def server_errors(self, sent_after: float = 0.0) -> list[int]:
        return [status for sent, status in self.seen if sent > sent_after and status >= 500]


async def plan_livestreams(product: Product, count: int, http: aiohttp.ClientSession) -> list[str]:
    """``count`` livestreams on the fanpage, two hours apart; their airing ids."""
    url = product.scheduler.url
    page = {"type": "page", "name": "Fanpage BHXH Đắk Lắk", "province": "dak-lak", "platform": "facebook"}
    async with http.put(f"{url}/v1/resources/{FANPAGE}", json=page, headers=PLANNER) as r:
        assert r.status in (200, 201), await r.text()
    ids = []
    for i in range(count):
        body = {
            "kind": "livestream",
            "resource_id": FANPAGE,
            "starts_at": (START + timedelta(hours=2 * i)).isoformat(),
            "duration_minutes": 60,
            "title": f"Livestream BHYT học sinh, sinh viên số {i + 1}",
        }
        headers = PLANNER | {"Idempotency-Key": f"livestream-{i}"}
        async with http.post(f"{url}/v1/airings", json=body, headers=headers) as r:
            assert r.status in (200, 201), await r.text()
            ids.append((await r.json())["airing_id"])
    return ids


async def known_to_metrics(product: Product, airing_ids: list[str], timeout: float = 30.0) -> None:
    """Wait until the metrics service knows every airing (it hears of them through RabbitMQ)."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(timeout):
        for airing_id in airing_ids:
            while True:
                url = f"{product.metrics.url}/v1/airings/{airing_id}/metrics"
                async with http.get(url, headers=VIEWER) as r:
                    if r.status == 200:
                        break
                await asyncio.sleep(0.1)


async def planned_and_known(product: Product, count: int) -> list[str]:
    """``count`` livestreams planned (:func:`plan_livestreams`) and known to the metrics service."""
    async with aiohttp.ClientSession() as http:
        airings = await plan_livestreams(product, count, http)
    await known_to_metrics(product, airings)
    return airings


def queued_readings(airings: list[str], minutes: int) -> list[bytes]:
    """The odd minutes' readings as queue messages, each minute in two halves of the airings."""
    return [
        orjson.dumps([sample(a, minute, "amqp") for a in airings[half::2]])
        for minute in range(1, minutes + 1, 2)
        for half in (0, 1)
    ]


async def every_reading_stored_once(product: Product, airings: list[str], minutes: int) -> None:
    """Every reading of every minute in the metrics log once (none lost, none twice), and each
    airing's figures those of its newest minute."""
    expected = len(airings) * minutes

    async def all_stored():
        return (await stored_samples(product))[0] >= expected

    await until(all_stored, timeout=60)
    assert await stored_samples(product) == (expected, expected), "acknowledged = stored, none twice"
    newest = {"views": 10 * minutes, "interactions": minutes}
    assert await figures(product, airings) == dict.fromkeys(airings, newest)


def sample(airing_id: str, minute: int, source: str) -> dict:
    """The reading of ``airing_id`` at ``minute``: views grow with the minute, so the newest is largest."""
    return {
        "airing_id": airing_id,
        "sampled_at": (START + timedelta(minutes=minute)).isoformat(),
        "source": source,
        "counters": {"views": 10 * minute, "interactions": minute},
    }


async def post_until_stored(
    http: aiohttp.ClientSession, product: Product, items: list[dict], answers: Answers, give_up: float = 60
) -> None:
    """POST a batch of samples, again and again (as a collector does) until it is answered 200."""
    deadline = time.monotonic() + give_up
    while True:
        sent = time.monotonic()
        try:
            async with http.post(
                f"{product.metrics.url}/v1/samples",
                json={"items": items},
                headers=COLLECTOR,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as r:
                answers.note(sent, r.status)
                if r.status == 200:
                    body = await r.json()
                    assert body["accepted"] == len(items), body
                    return
        except (aiohttp.ClientError, TimeoutError):
            answers.note(sent, 0)
        assert time.monotonic() < deadline, "samples never stored"
        await asyncio.sleep(0.2)


async def publish_until_confirmed(url: str, queue: str, bodies: list[bytes], pace: float) -> int:
    """Publish each body to ``queue`` with publisher confirms, reconnecting and publishing again
    whatever was not confirmed when the broker went away. The count of confirmed bodies."""
    confirmed = 0
    pending = list(bodies)
    while pending:
        try:
            connection = await aio_pika.connect(url, timeout=2)
        except Exception:  # the broker is away: try again
            await asyncio.sleep(0.2)
            continue
        try:
            async with connection:
                channel = await connection.channel(publisher_confirms=True)
                while pending:
                    await channel.default_exchange.publish(
                        aio_pika.Message(pending[0], content_type="application/json"),
                        routing_key=queue,
                        timeout=5,
                    )
                    pending.pop(0)
                    confirmed += 1
                    await asyncio.sleep(pace)
        except Exception:  # unconfirmed: published again on the next connection
            with contextlib.suppress(Exception):
                await connection.close()
            await asyncio.sleep(0.2)
    return confirmed


async def figures(product: Product, airing_ids: list[str]) -> dict[str, dict[str, int]]:
    async with aiohttp.ClientSession() as http:
        out = {}
        for airing_id in airing_ids:
            async with http.get(f"{product.metrics.url}/v1/airings/{airing_id}/metrics", headers=VIEWER) as r:
                assert r.status == 200, await r.text()
                out[airing_id] = (await r.json())["counters"]
        return out


async def stored_samples(product: Product) -> tuple[int, int]:
    """(samples in the metrics log, distinct readings among them)."""
    total = await product.fetchval(f"select count(*) from metrics.events where type = '{SAMPLES}'")
    distinct = await product.fetchval(
        "select count(distinct (data->>'airing_id', data->>'sampled_at', data->>'source')) "
        f"from metrics.events where type = '{SAMPLES}'"
    )
    return total, distinct


async def until(check, timeout: float, interval: float = 0.2):
    """Poll the coroutine function ``check`` until it answers something true; that answer."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


async def probe_after_recovery(product: Product, answers: Answers, airing_id: str, count: int = 10) -> None:
    """A few reads and writes of each service, each answer noted."""
    async with aiohttp.ClientSession() as http:
        for i in range(count):
            for method, url, kwargs in (
                ("GET", f"{product.metrics.url}/v1/stats", {"headers": VIEWER}),
                ("GET", f"{product.scheduler.url}/v1/airings", {"headers": VIEWER}),
                ("POST", f"{product.metrics.url}/v1/samples",
                 {"headers": COLLECTOR, "json": {"items": [sample(airing_id, 100_000 + i, "probe")]}}),
            ):  # fmt: skip
                sent = time.monotonic()
                try:
                    limit = aiohttp.ClientTimeout(total=5)
                    async with http.request(method, url, timeout=limit, **kwargs) as r:
                        answers.note(sent, r.status)
                except (aiohttp.ClientError, TimeoutError):
                    answers.note(sent, 0)
