"""The launcher's servers answer as the services expect them to."""

import aio_pika
import asyncpg


async def test_postgres_answers_with_utf8(pg_dsn):
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert (await conn.fetchval("show server_encoding")) == "UTF8"
        assert await conn.fetchval("select $1::text", "Êđê, M'nông") == "Êđê, M'nông"
        assert (await conn.fetchval("show fsync")) == "on"
    finally:
        await conn.close()


async def test_rabbitmq_takes_and_gives_a_persistent_message(amqp_url):
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue("", exclusive=True)
        await channel.default_exchange.publish(
            aio_pika.Message("Giờ thứ 9".encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=queue.name,
        )
        message = await queue.get(timeout=5)
        await message.ack()
        assert message.body.decode() == "Giờ thứ 9"
