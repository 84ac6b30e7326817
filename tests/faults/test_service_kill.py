"""kill -9 of the metrics service mid-burst: what was acknowledged is stored, once, and it comes back.

20 livestreams; 4 collectors POST 2,000 readings over HTTP while 2,000 more
arrive through ``metrics.samples`` (publisher confirms). At 40 % the metrics
process is killed with SIGKILL (its unacknowledged deliveries go back to the
queue, its half-done requests get no answer) and started again. Collectors
retry what was not answered 200. Then: stored = acknowledged, no reading twice,
figures exact, ready within 15 s of the restart, no 5xx 5 s after it.
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
)

AIRINGS = 20
MINUTES = 200
COLLECTORS = 4


async def test_a_killed_metrics_service_loses_no_acknowledged_sample(product):
    airings = await planned_and_known(product, AIRINGS)
    answers = Answers()
    http_minutes = list(range(2, MINUTES + 1, 2))
    amqp_bodies = queued_readings(airings, MINUTES)
    done = 0
    kill_at = len(http_minutes) * 4 // 10
    killed = asyncio.Event()
    restarted_at: list[float] = []
    ready: list[float] = []

    async def collector(minutes: list[int]) -> None:
        nonlocal done
        async with aiohttp.ClientSession() as http:
            for minute in minutes:
                await post_until_stored(http, product, [sample(a, minute, "http") for a in airings], answers)
                done += 1
                if done >= kill_at:
                    killed.set()
                await asyncio.sleep(0.2)

    async def kill_and_restart() -> None:
        await killed.wait()
        product.kill(product.metrics)
        await asyncio.to_thread(product.start, product.metrics)
        restarted_at.append(time.monotonic())
        ready.append(await product.wait_ready(product.metrics))

    amqp = asyncio.create_task(
        publish_until_confirmed(product.amqp_url, "metrics.samples", amqp_bodies, pace=0.03)
    )
    await asyncio.gather(
        *(collector(http_minutes[i::COLLECTORS]) for i in range(COLLECTORS)), kill_and_restart()
    )
    assert await amqp == len(amqp_bodies)
    assert ready[0] < 15, f"ready {ready[0]:.1f} s after the restart"

    await every_reading_stored_once(product, airings, MINUTES)

    await asyncio.sleep(max(0.0, restarted_at[0] + 5 - time.monotonic()))
    late = time.monotonic()
    await probe_after_recovery(product, answers, airings[0])
    assert answers.server_errors(sent_after=late) == []
