"""The outbox relay against real PostgreSQL and RabbitMQ."""

import asyncio
from uuid import uuid4

import aio_pika
import orjson
import pytest

from services.bus.relay import OutboxRelay
from services.bus.topology import EVENTS_EXCHANGE, declare_exchanges
from services.eventstore.port import NewEvent
from tests.integration.pg import fresh_store
from tests.polling import eventually


@pytest.fixture
async def listener(amqp_url):
    """A durable queue bound to every event, collecting message bodies by event id."""
    connection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel()
    await declare_exchanges(channel)
    name = f"test.relay.{uuid4().hex[:8]}"
    queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    await queue.bind(EVENTS_EXCHANGE, routing_key="#")
    received: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def collect(message):
        received.append(message)
        await message.ack()

    await queue.consume(collect)
    yield received
    await queue.delete(if_unused=False, if_empty=False)
    await connection.close()


def airing(i: int) -> NewEvent:
    return NewEvent(
        uuid4(),
        "schedule.AiringScheduled",
        1,
        {"i": i, "title": "Bản tin BHYT tiếng M'nông"},
        {"correlation_id": str(uuid4()), "actor": "planner:dak-lak"},
    )


def ids_of(messages):
    return [m.message_id for m in messages]


async def test_relay_publishes_every_event_once_in_order_with_its_properties(pool, listener, amqp_url):
    store = await fresh_store(pool, "relay")
    events = [airing(i) for i in range(30)]
    for i in range(0, 30, 3):
        await store.append(f"airing-{i}", events[i : i + 3])
    relay = OutboxRelay(store, amqp_url, batch_size=7)
    task = asyncio.create_task(relay.run())
    await eventually(lambda: len(listener) >= 30)
    await asyncio.sleep(0.2)
    assert ids_of(listener) == [str(e.event_id) for e in events]
    first = listener[0]
    assert first.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert first.type == "schedule.AiringScheduled" == first.routing_key
    assert first.content_type == "application/json"
    assert first.correlation_id == events[0].metadata["correlation_id"]
    assert first.headers["stream_id"] == "airing-0"
    body = orjson.loads(first.body)
    assert body["data"]["title"] == "Bản tin BHYT tiếng M'nông"
    assert body["stream_version"] == 1 and body["global_position"] == first.headers["global_position"]
    relay.stop()
    await asyncio.wait_for(task, 5)
    await store.close()


async def test_a_restarted_relay_resumes_from_its_checkpoint(pool, listener, amqp_url):
    store = await fresh_store(pool, "relay")
    before = [airing(i) for i in range(5)]
    for e in before:
        await store.append(f"airing-{e.event_id}", [e])
    relay = OutboxRelay(store, amqp_url)
    task = asyncio.create_task(relay.run())
    await relay.wait_until(await store.head_position())
    relay.stop()
    await asyncio.wait_for(task, 5)

    after = [airing(i) for i in range(5, 9)]
    for e in after:
        await store.append(f"airing-{e.event_id}", [e])
    again = OutboxRelay(store, amqp_url)
    task = asyncio.create_task(again.run())
    await eventually(lambda: len(listener) >= 9)
    await asyncio.sleep(0.2)
    assert ids_of(listener) == [str(e.event_id) for e in before + after]
    again.stop()
    await asyncio.wait_for(task, 5)
    await store.close()


async def test_a_broker_restart_loses_nothing_and_keeps_the_order(pool, listener, amqp_url, stack):
    if stack is None:
        pytest.skip("needs the test stack's own RabbitMQ to restart it")
    store = await fresh_store(pool, "relay")
    relay = OutboxRelay(store, amqp_url, fallback_interval=0.2)
    task = asyncio.create_task(relay.run())
    events = [airing(i) for i in range(40)]

    async def write():
        for e in events:
            await store.append(f"airing-{e.event_id}", [e])
            await asyncio.sleep(0.01)

    writer = asyncio.create_task(write())
    await eventually(lambda: len(listener) >= 5)
    await asyncio.to_thread(stack.rabbitmq.restart_app)
    await writer
    wanted = [str(e.event_id) for e in events]
    await eventually(lambda: set(wanted) <= set(ids_of(listener)), timeout=60)
    # At-least-once: duplicates may appear around the outage, but the first
    # sighting of every event is in the order it was written.
    first_seen = list(dict.fromkeys(ids_of(listener)))
    assert first_seen == wanted
    relay.stop()
    await asyncio.wait_for(task, 10)
    await store.close()
