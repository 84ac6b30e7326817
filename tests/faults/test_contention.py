"""Four HTTP collectors and the AMQP sample queue write the same 50 airings at once: no 5xx.

Every batch names all 50 airings, so every append races the others on the same
50 streams. The store queues such appends per stream in one fixed order and
retries what PostgreSQL breaks off (deadlock, serialization), so a client never
sees a 500, and everything acknowledged is stored once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import aio_pika
import orjson

from tests.faults import support_order
from tests.faults.support_order import COLLECTOR, eventually, plan_across, register_communes

servers, product, http = support_order.servers, support_order.product, support_order.http  # fixtures

AIRINGS, COLLECTORS, SECONDS, MAX_BATCHES = 50, 4, 15, 150
START = datetime(2023, 8, 1, 18, 0)


def batch(airings: list[str], writer: int, n: int) -> list[dict]:
    # Each writer's readings are its own (distinct times), so every item is a new sample.
    at = (START + timedelta(seconds=writer * 100_000 + n)).isoformat()
    return [
        {
            "airing_id": a,
            "sampled_at": at,
            "source": f"bo-thu-{writer}",
            "counters": {"views": n, "shares": writer},
        }
        for a in airings
    ]


async def test_collectors_and_the_queue_on_the_same_airings_get_no_5xx(product, http):
    scheduler = (await product.start("scheduler")).url
    communes = await register_communes(http, scheduler, 5)
    airings = await plan_across(http, scheduler, communes, AIRINGS // 5)
    metrics = (await product.start("metrics")).url

    async def known():
        [row] = await product.sql(
            "select count(*) as n from metrics.events where type = 'schedule.AiringScheduled'"
        )
        return row["n"] == AIRINGS

    await eventually(known, 30, "the metrics service knows the 50 airings")
    statuses: dict[int, int] = {}
    accepted = 0
    deadline = time.monotonic() + SECONDS

    async def collector(writer: int) -> None:
        nonlocal accepted
        for n in range(MAX_BATCHES):
            if time.monotonic() > deadline:
                return
            async with http.post(
                f"{metrics}/v1/samples", json={"items": batch(airings, writer, n)}, headers=COLLECTOR
            ) as r:
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status == 200:
                    accepted += (await r.json())["accepted"]

    published = 0

    async def queue_writer() -> None:
        nonlocal published
        connection = await aio_pika.connect_robust(product.stack.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            for n in range(MAX_BATCHES):
                if time.monotonic() > deadline:
                    return
                body = orjson.dumps(batch(airings, COLLECTORS, n))
                await channel.default_exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key="metrics.samples",
                )
                published += AIRINGS
                await asyncio.sleep(0.02)

    await asyncio.wait_for(
        asyncio.gather(queue_writer(), *(collector(w) for w in range(COLLECTORS))), SECONDS + 60
    )

    assert {s for s in statuses if s >= 500} == set(), statuses
    assert statuses.get(200, 0) >= COLLECTORS * 5  # the load did run
    assert published > 0

    async def all_stored():
        [row] = await product.sql("select count(*) as n from metrics.events where stream_id like 'samples-%'")
        return row["n"] == accepted + published or row["n"]

    assert await eventually(all_stored, 60, f"{accepted} HTTP + {published} queued samples stored") is True
    [[count], [distinct]] = await product.sql(
        "select count(*) from metrics.events union all select count(distinct event_id) from metrics.events"
    )
    assert count == distinct
