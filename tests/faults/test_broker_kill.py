"""kill -9 RabbitMQ during an AMQP + HTTP sample ingest: every acknowledged sample is stored, once.

20 livestreams; 4,000 readings, half POSTed over HTTP (100 batches), half
published to ``metrics.samples`` with publisher confirms (200 messages), both
paced over ~10 s. At 40 % of the HTTP batches the broker is killed with
SIGKILL and started again. The senders retry as collectors do (HTTP until 200,
AMQP whatever was not confirmed). Then: stored = acknowledged, no reading
twice, each livestream's figures the newest reading sent, both services ready
within 15 s of the broker's return, and no 5xx for what is sent 5 s after it.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from tests.faults.workload import (
    Answers,
    every_reading_stored_once,
    planned_and_known,
    post_until_stored,
    probe_after_recovery,
    publish_until_confirmed,
    queued_readings,
    sample,
    until,
)

AIRINGS = 20
MINUTES = 200  # even minutes over HTTP, odd ones over AMQP: 2,000 readings each


async def test_a_broker_killed_mid_ingest_loses_no_acknowledged_sample(product):
    airings = await planned_and_known(product, AIRINGS)
    answers = Answers()
    http_minutes = list(range(2, MINUTES + 1, 2))
    amqp_bodies = queued_readings(airings, MINUTES)  # 200 messages of 10 readings
    killed = asyncio.Event()
    recovered_at: list[float] = []
    ready: list[float] = []

    async def over_http() -> None:
        async with aiohttp.ClientSession() as http:
            for n, minute in enumerate(http_minutes):
                if n == len(http_minutes) * 4 // 10:
                    killed.set()
                await post_until_stored(http, product, [sample(a, minute, "http") for a in airings], answers)
                await asyncio.sleep(0.1)

    async def break_the_broker() -> None:
        await killed.wait()
        await asyncio.to_thread(product.breaker.kill_rabbitmq)
        async with aiohttp.ClientSession() as http:

            async def unready():  # a robust connection reconnecting is not "ok"
                async with http.get(f"{product.metrics.url}/readyz") as r:
                    return r.status == 503 and r.headers["Retry-After"] == "5" and await r.json()

            body = await until(unready, timeout=5, interval=0.05)
        assert body and body["rabbitmq"].startswith("down"), body
        await asyncio.to_thread(product.breaker.start_rabbitmq)
        recovered_at.append(time.monotonic())
        ready.extend(
            await asyncio.gather(product.wait_ready(product.metrics), product.wait_ready(product.scheduler))
        )

    amqp = asyncio.create_task(
        publish_until_confirmed(product.amqp_url, "metrics.samples", amqp_bodies, pace=0.05)
    )
    await asyncio.gather(over_http(), break_the_broker())
    confirmed = await amqp
    assert max(ready) < 15, f"ready again after {ready} s"

    assert confirmed == len(amqp_bodies)
    await every_reading_stored_once(product, airings, MINUTES)

    await asyncio.sleep(max(0.0, recovered_at[0] + 5 - time.monotonic()))
    late = time.monotonic()
    await probe_after_recovery(product, answers, airings[0])
    assert answers.server_errors(sent_after=late) == []
    assert answers.server_errors() == [], "HTTP ingest needs no broker: never a 5xx"
