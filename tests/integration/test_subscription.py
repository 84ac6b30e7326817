"""Catch-up subscriptions against real PostgreSQL: history, live, lost wake-ups, dropped connections."""

import asyncio
from uuid import uuid4

import pytest

from services.common.supervisor import Halt
from services.eventstore.parking import ParkingLot
from services.eventstore.port import NewEvent
from services.eventstore.subscription import CatchUpSubscription, Poison
from tests.integration.pg import fresh_store, open_pool

APP = "loa-subscription-test"


@pytest.fixture(scope="module")
async def pool(pg_dsn):
    pool = await open_pool(pg_dsn, min_size=2, max_size=10, server_settings={"application_name": APP})
    yield pool
    await pool.close()


@pytest.fixture
async def store(pool):
    store = await fresh_store(pool, "sub")
    async with pool.acquire() as conn:
        await conn.execute(
            f"create table {store.schema}.airings_per_commune "
            "(commune text primary key, airings int not null)"
        )
    yield store
    await store.close()


def airing(commune: str) -> NewEvent:
    return NewEvent(uuid4(), "schedule.AiringScheduled", 1, {"commune": commune})


def projector(store):
    """A tiny projection: airings per commune, written in the subscription's transaction."""

    async def project(conn, events):
        for e in events:
            await conn.execute(
                f"insert into {store.schema}.airings_per_commune values ($1, 1) "
                "on conflict (commune) do update set airings = airings_per_commune.airings + 1",
                e.data["commune"],
            )

    return project


async def counts(store):
    rows = await store.pool.fetch(f"select commune, airings from {store.schema}.airings_per_commune")
    return {r["commune"]: r["airings"] for r in rows}


async def run_until_caught_up(subscription, store):
    task = asyncio.create_task(subscription.run())
    await subscription.wait_until(await store.head_position())
    return task


async def stop(subscription, task):
    subscription.stop()
    await asyncio.wait_for(task, 5)


async def test_history_in_batches_then_live(store):
    for i in range(25):
        await store.append(f"airing-{i}", [airing("Ea Tu")])
    sub = CatchUpSubscription(store, "per-commune", projector(store), batch_size=10)
    task = await run_until_caught_up(sub, store)
    assert await counts(store) == {"Ea Tu": 25}
    assert sub.caught_up.is_set()

    await store.append("airing-live", [airing("Hòa Thắng")])
    await sub.wait_until(await store.head_position(), timeout=2)
    assert await counts(store) == {"Ea Tu": 25, "Hòa Thắng": 1}
    await stop(sub, task)


async def test_checkpoint_commits_with_the_projection_and_restart_resumes(store):
    for i in range(5):
        await store.append(f"airing-{i}", [airing("Cư Suê")])
    sub = CatchUpSubscription(store, "resume", projector(store), batch_size=2)
    task = await run_until_caught_up(sub, store)
    await stop(sub, task)
    for i in range(5, 8):
        await store.append(f"airing-{i}", [airing("Cư Suê")])
    again = CatchUpSubscription(store, "resume", projector(store), batch_size=2)
    task = await run_until_caught_up(again, store)
    assert await counts(store) == {"Cư Suê": 8}, "a restart must neither skip nor double-count"
    await stop(again, task)


async def test_a_failing_batch_rolls_back_its_rows_and_its_checkpoint(store):
    await store.append("airing-a", [airing("Ea Kao")])
    await store.append("airing-b", [airing("BOOM")])
    project = projector(store)

    async def fragile(conn, events):
        await project(conn, events)
        if any(e.data["commune"] == "BOOM" for e in events):
            raise RuntimeError("projection bug")

    sub = CatchUpSubscription(store, "fragile", fragile, batch_size=10)
    with pytest.raises(RuntimeError, match="projection bug"):
        await asyncio.wait_for(sub.run(), 5)
    assert await counts(store) == {}, "rows of a failed batch must not commit"
    fixed = CatchUpSubscription(store, "fragile", project, batch_size=10)
    task = await run_until_caught_up(fixed, store)
    assert await counts(store) == {"Ea Kao": 1, "BOOM": 1}
    await stop(fixed, task)


async def test_a_lost_notification_is_covered_by_the_timed_read(store):
    sub = CatchUpSubscription(store, "deaf", projector(store), fallback_interval=0.2)
    task = asyncio.create_task(sub.run())
    await asyncio.wait_for(sub.caught_up.wait(), 5)
    store._notifier.poke = lambda: None  # the NOTIFY never goes out
    await store.append("airing-quiet", [airing("Krông Búk")])
    await sub.wait_until(await store.head_position(), timeout=3)
    assert await counts(store) == {"Krông Búk": 1}
    await stop(sub, task)


async def test_dropped_connections_reconnect_and_resume(store, pool):
    sub = CatchUpSubscription(store, "sturdy", projector(store), fallback_interval=0.2)
    task = asyncio.create_task(sub.run())
    await store.append("airing-1", [airing("Ea H'leo")])
    await sub.wait_until(await store.head_position())

    async with pool.acquire() as killer:
        killed = await killer.fetchval(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity "
            "where application_name = $1 and pid <> pg_backend_pid()",
            APP,
        )
    assert killed >= 1
    for i in range(3):
        await store.append(f"airing-after-{i}", [airing("Ea H'leo")])
    await sub.wait_until(await store.head_position(), timeout=10)
    assert await counts(store) == {"Ea H'leo": 4}
    await stop(sub, task)


def poisoned(store, project, failures: list[str]):
    """The projection, failing on every event of commune POISON (and on whole batches holding one)."""

    async def fragile(conn, events):
        await project(conn, events)
        if any(e.data["commune"] == "POISON" for e in events):
            failures.append(events[0].data["commune"])
            raise ValueError("value out of int64 range")

    return fragile


async def test_a_poison_event_is_parked_with_its_error_and_the_projection_goes_on(store):
    for i, commune in enumerate(["Ea Kao", "Ea Tu", "POISON", "Hòa Xuân", "Ea Tu"]):
        await store.append(f"airing-{i}", [airing(commune)])
    failures: list[str] = []
    sub = CatchUpSubscription(
        store, "parking", poisoned(store, projector(store), failures), batch_size=10, poison=Poison.PARK
    )
    task = await run_until_caught_up(sub, store)
    assert await counts(store) == {"Ea Kao": 1, "Ea Tu": 2, "Hòa Xuân": 1}
    assert sub.parked == 1 and failures == ["Ea Kao", "POISON", "POISON", "POISON"]  # batch, then 3 tries
    async with store.pool.acquire() as conn:
        [parked] = await ParkingLot(store.schema).list(conn, "parking")
    assert parked["global_position"] == (await store.read_stream("airing-2"))[0].global_position
    assert parked["error"] == "ValueError: value out of int64 range"
    await store.append("airing-live", [airing("Krông Búk")])  # and it still follows the log
    await sub.wait_until(await store.head_position(), timeout=3)
    assert (await counts(store))["Krông Búk"] == 1
    await stop(sub, task)


async def test_a_projection_that_must_not_skip_halts_with_the_reason(store):
    await store.append("airing-a", [airing("Ea Kao")])
    await store.append("airing-b", [airing("POISON")])
    sub = CatchUpSubscription(
        store, "halting", poisoned(store, projector(store), []), batch_size=10, poison=Poison.HALT, tries=2
    )
    with pytest.raises(Halt, match=r"halting cannot apply event .* \(schedule.AiringScheduled\)"):
        await asyncio.wait_for(sub.run(), 5)
    assert await counts(store) == {"Ea Kao": 1}, "the events before the poison one are applied"
    assert sub.position == (await store.read_stream("airing-a"))[0].global_position
