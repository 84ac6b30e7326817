"""Poison messages and poison values: refused at the door, dead-lettered with the reason, or parked.

A counter of 2^63 is answered 422 naming the field; sent through the queue,
it goes to the dead-letter queue with the reason, as does a message that is
not JSON. A poisoned event that reached the metrics log anyway (written past
the door) is parked by the statistics, which go on, stay ready and rebuild to
the same figures. The scheduler's read model, which must not skip an event,
halts on one instead, and /readyz says why.
"""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import aiohttp
import orjson
import pytest

from services.bus.topology import DEAD_LETTER_EXCHANGE, declare_exchanges
from services.eventstore.port import Expect, NewEvent
from services.eventstore.postgres import PostgresEventStore, create_pool
from tests.faults.conftest import COLLECTOR, PLANNER, VIEWER, bearer
from tests.faults.workload import figures, planned_and_known, sample, until

NATIONAL_PLANNER = bearer("planner", "Ban Tuyên truyền BHXH Việt Nam")


@pytest.fixture(scope="module")
async def airings(product):
    return await planned_and_known(product, 3)


async def test_a_counter_beyond_2_53_is_refused_at_the_door_naming_the_field(product, airings):
    too_big = sample(airings[0], 1, "facebook") | {"counters": {"views": 2**63}}
    largest = sample(airings[1], 1, "facebook") | {"counters": {"views": 2**53 - 1}}
    async with aiohttp.ClientSession() as http:
        url = f"{product.metrics.url}/v1/samples"
        async with http.post(url, json={"items": [too_big]}, headers=COLLECTOR) as r:
            assert r.status == 422
            [rejected] = (await r.json())["rejected"]
            assert rejected["field"] == "counters.views" and "2^53 − 1" in rejected["reason"]
        twice = [largest, largest | {"airing_id": airings[2]}]
        async with http.post(url, json={"items": twice}, headers=COLLECTOR) as r:
            assert r.status == 200, await r.text()
        async with http.get(f"{product.metrics.url}/v1/stats", headers=VIEWER) as r:
            assert r.status == 200, await r.text()
            [row] = (await r.json())["rows"]
            assert row["counters"]["views"] == 2 * (2**53 - 1)  # summed without overflow


async def test_poison_messages_go_to_the_dead_letter_queue_with_the_reason(product, airings):
    connection = await aio_pika.connect(product.amqp_url)
    async with connection:
        channel = await connection.channel()
        await declare_exchanges(channel)
        dead = await channel.declare_queue("", exclusive=True)
        await dead.bind(DEAD_LETTER_EXCHANGE, routing_key="metrics.samples")
        too_big = orjson.dumps(sample(airings[0], 2, "amqp") | {"counters": {"shares": 2**63}})
        for body in (b"{not json", too_big):
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key="metrics.samples")
        reasons = {}
        async with asyncio.timeout(15), dead.iterator() as messages:
            async for message in messages:
                await message.ack()
                reasons[message.body] = message.headers["x-loa-error"]
                if len(reasons) == 2:
                    break
    assert reasons[b"{not json"].startswith("not JSON")
    assert reasons[too_big].startswith("counters.shares: is larger than 9007199254740991")


async def test_a_poisoned_event_in_the_log_is_parked_and_the_statistics_go_on(product, airings):
    pool = await create_pool(product.pg_dsn)
    try:
        store = PostgresEventStore(pool, "metrics")
        poison_id = uuid.uuid4()
        poisoned = sample(airings[0], 3, "before-the-bound") | {"counters": {"views": 2**63}}
        poisoned["sampled_at"] += "+07:00"  # as the contract wrote it, when such a value was let in
        event = NewEvent(poison_id, "metrics.SampleRecorded", 2, poisoned)
        await store.append(f"samples-{airings[0]}", [event], Expect.ANY)
        await store.close()
    finally:
        await pool.close()
    async with aiohttp.ClientSession() as http:
        after = {"items": [sample(airings[0], 4, "facebook")]}
        async with http.post(f"{product.metrics.url}/v1/samples", json=after, headers=COLLECTOR) as r:
            assert r.status == 200, await r.text()

        async def parked():
            return await product.fetchval(
                "select error from metrics.parked where event_id = $1 and subscription like 'statistics-%'",
                poison_id,
            )

        assert "int64" in (await until(parked, timeout=15) or "")
        assert (await figures(product, [airings[0]]))[airings[0]] == {"views": 40, "interactions": 4}
        async with http.get(f"{product.metrics.url}/readyz") as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["tasks"]["statistics"] == "ok"
        async with http.get(f"{product.metrics.url}/metrics") as r:
            text = await r.text()
        assert 'loa_events_parked_total{service="metrics",subscription="statistics"} 1.0' in text
        async with http.post(f"{product.metrics.url}/v1/admin/rebuild", headers=NATIONAL_PLANNER) as r:
            assert r.status == 200, await r.text()
        assert (await figures(product, [airings[0]]))[airings[0]] == {"views": 40, "interactions": 4}


async def test_the_schedulers_read_model_halts_on_an_event_it_cannot_apply_and_says_why(product, airings):
    pool = await create_pool(product.pg_dsn)
    try:
        store = PostgresEventStore(pool, "scheduler")
        broken = NewEvent(uuid.uuid4(), "schedule.AiringCancelled", 1, {"airing_id": "không phải uuid"})
        await store.append(f"schedule-{airings[0]}-broken", [broken], Expect.ANY)
        await store.close()
    finally:
        await pool.close()
    async with aiohttp.ClientSession() as http:

        async def unready():
            async with http.get(f"{product.scheduler.url}/readyz") as r:
                return r.status == 503 and await r.json()

        body = await until(unready, timeout=15)
        assert body, "the scheduler stays ready with a halted read model"
        reason = body["tasks"]["airings-read-model"]
        assert reason.startswith("halted: airings-read-model cannot apply event")
        assert str(broken.event_id) in reason
        assert body["status"] == 503 and body["detail"].startswith("airings-read-model: halted")
        async with http.get(f"{product.scheduler.url}/healthz") as r:
            assert r.status == 200, "liveness is not readiness"
        # Writes still go to the log, answered from what was decided; reading them back says at once
        # that the model is behind.
        airing = {
            "kind": "livestream",
            "resource_id": "page:facebook:bhxh-dak-lak",
            "starts_at": "2023-09-01T20:00",
            "duration_minutes": 30,
            "title": "Sau khi dừng",
        }
        async with http.post(f"{product.scheduler.url}/v1/airings", json=airing, headers=PLANNER) as r:
            assert r.status == 201, await r.text()
            location = r.headers["Location"]
        started = asyncio.get_running_loop().time()
        async with http.get(f"{product.scheduler.url}{location}", headers=PLANNER) as r:
            assert r.status == 503 and r.headers["Retry-After"] == "5", await r.text()
        assert asyncio.get_running_loop().time() - started < 2
