"""Shared pieces of the scheduler API tests: tokens, an app on a fresh schema, the demo communes."""

from __future__ import annotations

from uuid import uuid4

import aio_pika
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.bus.topology import EVENTS_EXCHANGE, declare_exchanges
from services.common.auth import issue
from services.common.settings import Settings
from services.scheduler.bootstrap import create_app
from tests.integration.pg import unique_schema

SECRET = "test-secret-0123456789"
EA_TU = "loudspeaker:xa-ea-tu"
HOA_THANG = "loudspeaker:xa-hoa-thang"
WINDOWS = [{"start": "05:30", "end": "06:30"}, {"start": "17:00", "end": "18:30"}]


def bearer(role, sub="Trung tâm Truyền thông BHXH Đắk Lắk", **claims):
    return {"Authorization": f"Bearer {issue(SECRET, sub, role, **claims)}"}


PLANNER = bearer("planner", province="dak-lak")
VIEWER = bearer("viewer", sub="Bảng điều khiển")
OPERATOR = bearer("operator", sub="Y Bơ Êban", resources=[EA_TU])


def commune(name, languages, province="dak-lak", **extra):
    return {
        "type": "commune",
        "name": name,
        "province": province,
        "languages": languages,
        "windows": WINDOWS,
    } | extra


def bulletin(title: str, starts_at: str, minutes: int = 15, **more) -> dict:
    """A loudspeaker bulletin in Êđê on Ea Tu, as a planner sends it."""
    return {
        "kind": "loudspeaker",
        "resource_id": EA_TU,
        "starts_at": starts_at,
        "duration_minutes": minutes,
        "title": title,
        "language": "Êđê",
    } | more


async def register(client, resource_id, description, headers=PLANNER):
    response = await client.put(f"/v1/resources/{resource_id}", json=description, headers=headers)
    assert response.status in (200, 201), await response.text()
    return await response.json()


@pytest.fixture
async def events_seen(amqp_url):
    connection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel()
    await declare_exchanges(channel)
    queue = await channel.declare_queue(f"test-{uuid4()}", exclusive=True)
    await queue.bind(EVENTS_EXCHANGE, routing_key="schedule.#")
    seen = []

    async def collect(message):
        seen.append(message)
        await message.ack()

    await queue.consume(collect)
    yield seen
    await connection.close()


@pytest.fixture
async def client(pg_dsn, amqp_url, events_seen):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    app = create_app(settings, schema=unique_schema("sched"))
    async with TestClient(TestServer(app)) as client:
        await register(client, EA_TU, commune("Xã Ea Tu", ["Kinh", "Êđê"], code="24133"))
        await register(client, HOA_THANG, commune("Xã Hòa Thắng", ["Kinh"], code="24136"))
        yield client
