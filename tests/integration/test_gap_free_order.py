"""Proof of gap-free reading (docs/adr/0001-gap-free-global-order.md).

40 writers append in their own transactions with random commit delays, some
roll back, some race on shared streams; a catch-up subscription runs all along.
It must see every committed event exactly once, in position order, and nothing
that was rolled back.
"""

import asyncio
import random
from uuid import uuid4

import asyncpg
import pytest

from services.eventstore.port import EventStoreError, NewEvent
from services.eventstore.subscription import CatchUpSubscription
from tests.integration.pg import fresh_store, open_pool

WRITERS = 40
TRANSACTIONS_PER_WRITER = 15


@pytest.fixture(scope="module")
async def pool(pg_dsn):
    pool = await open_pool(pg_dsn, min_size=4, max_size=WRITERS + 8)
    yield pool
    await pool.close()


async def test_subscriber_sees_every_committed_event_once_in_order(pool):
    store = await fresh_store(pool, "gapfree")
    seen: list[tuple[int, str]] = []

    async def record(conn, events):
        seen.extend((e.global_position, str(e.event_id)) for e in events)

    subscription = CatchUpSubscription(store, "gap-test", record, batch_size=50, fallback_interval=0.2)
    follower = asyncio.create_task(subscription.run())
    committed: set[str] = set()
    rolled_back: set[str] = set()
    rng = random.Random(20230801)

    async def writer(n: int) -> None:
        for i in range(TRANSACTIONS_PER_WRITER):
            # Shared streams make writers race; private ones keep most commits going.
            stream = f"commune-{rng.randrange(5)}" if rng.random() < 0.3 else f"writer-{n}"
            events = [
                NewEvent(uuid4(), "schedule.AiringScheduled", 1, {"writer": n, "i": i})
                for _ in range(rng.randint(1, 3))
            ]
            ids = {str(e.event_id) for e in events}
            async with pool.acquire() as conn:
                tx = conn.transaction()
                await tx.start()
                try:
                    await asyncio.sleep(rng.random() * 0.01)
                    await store.append(stream, events, connection=conn)
                    await asyncio.sleep(rng.random() * 0.03)  # commit later than others
                except (EventStoreError, asyncpg.UniqueViolationError):
                    await tx.rollback()
                    rolled_back.update(ids)
                    continue
                if rng.random() < 0.1:
                    await tx.rollback()
                    rolled_back.update(ids)
                else:
                    await tx.commit()
                    committed.update(ids)
                    store.notify_appended()

    await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    await subscription.wait_until(await store.head_position(), timeout=30)
    subscription.stop()
    await asyncio.wait_for(follower, 5)

    positions = [p for p, _ in seen]
    ids = [i for _, i in seen]
    assert positions == sorted(positions), "the subscriber saw events out of position order"
    assert len(ids) == len(set(ids)), "the subscriber saw an event twice"
    assert set(ids) == committed, (
        f"missed {len(committed - set(ids))} committed events, "
        f"saw {len(set(ids) - committed)} that were not committed"
    )
    assert not set(ids) & rolled_back
    assert len(committed) > 500 and rolled_back, "the test must exercise commits and rollbacks"
    await store.close()
