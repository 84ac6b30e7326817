"""The idempotent consumer against real PostgreSQL and RabbitMQ."""

from uuid import uuid4

import aio_pika
import orjson
import pytest

from contracts.events import REGISTRY
from services.bus.consumer import Consumer
from services.bus.topology import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, declare_exchanges
from tests.integration.pg import fresh_store
from tests.polling import eventually


@pytest.fixture
async def channel(amqp_url):
    connection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    await declare_exchanges(channel)
    yield channel
    await connection.close()


@pytest.fixture
async def dead_letters(channel):
    """What reaches the dead-letter exchange during the test."""
    queue = await channel.declare_queue(f"test.dead.{uuid4().hex[:8]}", exclusive=True)
    await queue.bind(DEAD_LETTER_EXCHANGE, routing_key="#")
    seen = []

    async def collect(message):
        seen.append(message)
        await message.ack()

    await queue.consume(collect)
    return seen


@pytest.fixture
async def consumer_db(pool):
    store = await fresh_store(pool, "consumer")
    async with pool.acquire() as conn:
        await conn.execute(f"create table {store.schema}.effects (event_id uuid, title text)")
    return store


def wire(title="Bản tin phòng chống bão, tiếng Êđê", event_id=None) -> bytes:
    return orjson.dumps(
        {
            "event_id": str(event_id or uuid4()),
            "type": "schedule.AiringScheduled",
            "schema_version": 1,
            "stream_id": "airing-x",
            "stream_version": 1,
            "global_position": 1,
            "occurred_at": "2023-08-07T10:00:00Z",
            "data": {
                "airing_id": str(uuid4()),
                "kind": "loudspeaker",
                "resource_id": "loudspeaker:xa-ea-tu",
                "starts_at": "2023-08-07T17:30:00+07:00",
                "ends_at": "2023-08-07T17:45:00+07:00",
                "title": title,
                "priority": "emergency",
            },
        }
    )


async def publish(channel, body: bytes, message_id: str | None = None):
    exchange = await channel.get_exchange(EVENTS_EXCHANGE)
    await exchange.publish(
        aio_pika.Message(body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key="schedule.AiringScheduled",
    )


async def effects(store):
    return await store.pool.fetch(f"select event_id, title from {store.schema}.effects")


def make_consumer(store, handler, **kwargs):
    return Consumer(
        f"test.consumer.{uuid4().hex[:8]}",
        store.pool,
        store.schema,
        REGISTRY,
        handler,
        bindings=["schedule.AiringScheduled"],
        retry_delay_ms=100,
        **kwargs,
    )


def recording(store, fail_titles=(), failures=None):
    failures = failures if failures is not None else {}

    async def handle(conn, envelope):
        title = envelope.data.title
        if title in fail_titles and failures.get(title, 0) < fail_titles[title]:
            failures[title] = failures.get(title, 0) + 1
            raise RuntimeError(f"cannot handle {title}")
        await conn.execute(f"insert into {store.schema}.effects values ($1, $2)", envelope.event_id, title)

    return handle


async def test_a_redelivered_event_takes_effect_once(consumer_db, channel, amqp_url):
    consumer = make_consumer(consumer_db, recording(consumer_db))
    await consumer.start(amqp_url)
    event_id = uuid4()
    for _ in range(3):
        await publish(channel, wire(event_id=event_id), str(event_id))
    await eventually(lambda: consumer.handled + consumer.duplicates >= 3)
    rows = await effects(consumer_db)
    assert [r["event_id"] for r in rows] == [event_id]
    assert (consumer.handled, consumer.duplicates) == (1, 2)
    await consumer.stop()


async def test_a_failing_handler_is_retried_then_succeeds(consumer_db, channel, amqp_url):
    consumer = make_consumer(consumer_db, recording(consumer_db, {"flaky": 2}), max_attempts=5)
    await consumer.start(amqp_url)
    await publish(channel, wire("flaky"))
    await eventually(lambda: consumer.handled == 1)
    assert [r["title"] for r in await effects(consumer_db)] == ["flaky"]
    await consumer.stop()


async def test_a_poison_message_is_dead_lettered_and_does_not_block_the_queue(
    consumer_db, channel, amqp_url, dead_letters
):
    consumer = make_consumer(consumer_db, recording(consumer_db, {"poison": 99}), max_attempts=3)
    await consumer.start(amqp_url)
    await publish(channel, wire("poison"))
    for i in range(5):
        await publish(channel, wire(f"good {i}"))
    await eventually(lambda: consumer.handled == 5 and len(dead_letters) == 1)
    [dead] = dead_letters
    assert dead.headers["x-loa-error"] == "RuntimeError: cannot handle poison"
    assert dead.headers["x-loa-error-type"] == "RuntimeError"
    assert dead.headers["x-loa-attempts"] == 3
    assert dead.headers["x-loa-consumer"] == consumer.name
    assert dead.routing_key == "schedule.AiringScheduled"
    assert orjson.loads(dead.body)["data"]["title"] == "poison"
    assert sorted(r["title"] for r in await effects(consumer_db)) == [f"good {i}" for i in range(5)]
    await consumer.stop()


async def test_unreadable_messages_go_straight_to_the_dead_letter_queue(
    consumer_db, channel, amqp_url, dead_letters
):
    consumer = make_consumer(consumer_db, recording(consumer_db))
    await consumer.start(amqp_url)
    await publish(channel, b"not json at all")
    await publish(channel, orjson.dumps(orjson.loads(wire()) | {"type": "schedule.Unknown"}))
    await publish(channel, wire("after the bad ones"))
    await eventually(lambda: len(dead_letters) == 2 and consumer.handled == 1)
    reasons = sorted(m.headers["x-loa-error-type"] for m in dead_letters)
    assert reasons == ["UnknownEventType", "ValidationError"]
    assert all(m.headers["x-loa-attempts"] == 0 for m in dead_letters)
    await consumer.stop()


async def test_the_handler_can_append_to_the_consumers_event_store(consumer_db, channel, amqp_url):
    # What the metrics service does: keep the scheduler's events in its own store.
    async def keep(conn, envelope):
        from services.eventstore.port import NewEvent

        await consumer_db.append(
            envelope.stream_id,
            [
                NewEvent(
                    envelope.event_id,
                    envelope.type,
                    envelope.schema_version,
                    envelope.data.model_dump(mode="json"),
                )
            ],
            connection=conn,
        )

    consumer = make_consumer(consumer_db, keep, on_commit=consumer_db.notify_appended)
    await consumer.start(amqp_url)
    event_id = uuid4()
    await publish(channel, wire(event_id=event_id))
    await publish(channel, wire(event_id=event_id))
    await eventually(lambda: consumer.handled + consumer.duplicates == 2)
    kept = await consumer_db.read_all()
    assert [e.event_id for e in kept] == [event_id]
    await consumer.stop()
