"""Backfill: publish a service's events again, from a position, into one consumer's queue.

For a consumer that was added after the events were published, or whose database
was reset. The events go straight into that queue (the default exchange, routed
by queue name), so no other consumer sees them twice; the consumer's inbox and
the per-stream order of its handler make a replay that overlaps what it already
has harmless.

    python -m services.bus.replay metrics.scheduler-events [--after POSITION] [--schema scheduler]

reads ``LOA_PG_DSN`` and ``LOA_AMQP_URL`` like the services do.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

import structlog

from services.bus.connection import connect
from services.bus.topology import CONSUMERS, declare_consumer_queue, declare_exchanges, routes_to
from services.bus.wire import to_message
from services.eventstore.port import EventStore

log = structlog.get_logger(__name__)


async def replay(
    store: EventStore,
    amqp_url: str,
    queue: str,
    *,
    after: int = 0,
    bindings: Sequence[str] | None = None,
    batch_size: int = 1000,
) -> int:
    """Publish every event of ``store`` after ``after`` that ``queue``'s bindings take; return how many.

    The queue is declared first (as its consumer would), so a replay to a consumer
    that never ran yet waits for it there.
    """
    if bindings is None:
        if queue not in CONSUMERS:
            raise ValueError(
                f"unknown consumer queue {queue!r}: name its bindings (known: {', '.join(CONSUMERS)})"
            )
        bindings = CONSUMERS[queue]
    app_id = f"loa.{store.schema}"
    sent = 0
    connection = await connect(amqp_url, timeout=30)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await declare_exchanges(channel)
        await declare_consumer_queue(channel, queue, bindings)
        position = after
        while batch := await store.read_all(position, batch_size):
            messages = []
            for event in batch:
                if any(routes_to(pattern, event.type) for pattern in bindings):
                    message = to_message(event, app_id)
                    # Routed by queue name here: keep the event's routing key for a dead-letter copy.
                    message.headers["x-loa-routing-key"] = event.type
                    messages.append(message)
            await asyncio.gather(*(channel.default_exchange.publish(m, routing_key=queue) for m in messages))
            sent += len(messages)
            position = batch[-1].global_position
    log.info("replayed", queue=queue, after=after, up_to=position, events=sent)
    return sent


async def _main(args: argparse.Namespace) -> int:
    from services.common.settings import Settings
    from services.eventstore.postgres import PostgresEventStore, create_pool

    settings = Settings()
    pool = await create_pool(settings.pg_dsn, min_size=1, max_size=2)
    try:
        store = PostgresEventStore(pool, args.schema)
        return await replay(store, settings.amqp_url, args.queue, after=args.after, bindings=args.binding)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.bus.replay", description=__doc__.split("\n")[0])
    parser.add_argument("queue", help=f"the consumer's queue ({', '.join(CONSUMERS)})")
    parser.add_argument("--after", type=int, default=0, help="global position to start after (0: everything)")
    parser.add_argument("--schema", default="scheduler", help="the publishing service's event store schema")
    parser.add_argument("--binding", action="append", help="routing-key pattern (default: the queue's own)")
    args = parser.parse_args(argv)
    sent = asyncio.run(_main(args))
    print(f"published {sent} events to {args.queue}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
