import asyncio
from uuid import uuid4

import pytest

from services.eventstore.migrate import migrate, migration_files
from services.eventstore.port import Expect, NewEvent, StaleTransaction, StreamAppend, WrongExpectedVersion
from tests.eventstore_contract import EventStoreContract, scheduled
from tests.integration.pg import fresh_store, open_pool, unique_schema
from tests.polling import eventually


@pytest.fixture
async def store(pool):
    store = await fresh_store(pool, "contract")
    yield store
    await store.close()


class TestPostgresEventStore(EventStoreContract):
    async def test_migrations_run_twice_and_concurrently(self, pool):
        schema = unique_schema("mig")
        async with pool.acquire() as a, pool.acquire() as b:
            applied = await asyncio.gather(migrate(a, schema), migrate(b, schema))
            every = [version for version, _, _ in migration_files()]
            assert sorted(applied) == [[], every]
            assert await migrate(a, schema) == []
            versions = await a.fetch(f"select version from {schema}.schema_migrations")
        assert [r["version"] for r in versions] == every

    async def test_append_inside_a_callers_transaction_commits_with_it(self, store, pool):
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            await store.append("airing-tx", [scheduled()], connection=conn)
            await tx.rollback()
        assert await store.read_stream("airing-tx") == []
        async with pool.acquire() as conn, conn.transaction():
            await store.append("airing-tx", [scheduled()], connection=conn)
            await store.append("airing-tx", [scheduled()], connection=conn)
        events = await store.read_stream("airing-tx")
        assert [e.stream_version for e in events] == [1, 2]
        assert events[0].global_position < events[1].global_position

    async def test_an_older_transaction_cannot_append_behind_a_newer_stream_head(self, store, pool):
        # A transaction that got its id before the stream's last event was written
        # would sort before it in global order; the store refuses and asks for a retry.
        await store.append("airing-old", [scheduled()])
        async with pool.acquire() as old:
            tx = old.transaction()
            await tx.start()
            await old.execute(f"create temporary table t_{uuid4().hex} (x int)")
            await old.fetchval("select pg_current_xact_id()")
            await store.append("airing-old", [scheduled()])  # committed by a younger transaction
            with pytest.raises(StaleTransaction):
                await store.append("airing-old", [scheduled()], connection=old)
            await tx.rollback()
        assert len(await store.read_stream("airing-old")) == 2

    async def test_a_stale_transaction_is_the_same_error_as_a_wrong_expected_version(self, store, pool):
        # One error type for "another writer got this stream first": callers catch only this one.
        await store.append("airing-race", [scheduled()])
        async with pool.acquire() as old:
            tx = old.transaction()
            await tx.start()
            await old.fetchval("select pg_current_xact_id()")
            await store.append("airing-race", [scheduled()])
            with pytest.raises(WrongExpectedVersion) as raised:
                await store.append_batch([StreamAppend("airing-race", [scheduled()])], connection=old)
            assert isinstance(raised.value, StaleTransaction)
            assert raised.value.stream_id == "airing-race"
            await tx.rollback()

    async def test_batches_over_the_same_streams_in_any_order_neither_deadlock_nor_fail(self, store):
        # Every batch names the same 20 streams, half of them in reverse order: without one lock
        # order such batches deadlock; without queueing they collide on the next version.
        streams = [f"samples-{i:02}" for i in range(20)]

        async def writer(w: int) -> None:
            for n in range(10):
                order = streams if (w + n) % 2 else streams[::-1]
                await store.append_batch([StreamAppend(s, [scheduled()], Expect.ANY) for s in order])

        await asyncio.wait_for(asyncio.gather(*(writer(w) for w in range(6))), 60)
        for s in streams:
            events = await store.read_stream(s)
            assert [e.stream_version for e in events] == list(range(1, 61))

    async def test_readers_do_not_see_past_an_open_writing_transaction(self, store, pool):
        start = await store.head_position()
        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            early = await store.append("airing-open", [scheduled()], connection=conn)
            late = await store.append("airing-later", [scheduled()])
            # The later event is committed but sits behind an open transaction.
            assert late.last_position > early.last_position
            assert await store.read_all(start) == []
            await tx.commit()
        seen = await store.read_all(start)
        assert [e.global_position for e in seen] == [early.last_position, late.last_position]

    async def test_json_payload_types_survive(self, store):
        event = NewEvent(
            uuid4(),
            "t.Any",
            1,
            {"n": 1700, "f": 0.5, "list": [1, "hai"], "none": None, "nested": {"a": True}},
        )
        await store.append("misc-1", [event], Expect.NO_STREAM)
        [read] = await store.read_stream("misc-1")
        assert read.data == event.data


class _Work:
    """A worker that counts how often it ran and runs until stopped."""

    def __init__(self, runs: list[str], who: str) -> None:
        self.runs, self.who = runs, who
        self._stop = asyncio.Event()

    async def run(self) -> None:
        self.runs.append(self.who)
        await self._stop.wait()

    def stop(self) -> None:
        self._stop.set()


async def test_single_active_work_runs_once_and_moves_when_its_holder_loses_its_session(pool, pg_dsn):
    from services.eventstore.leadership import SingleActive

    name = f"test-leader-{uuid4().hex[:8]}"
    runs: list[str] = []
    a = SingleActive(pg_dsn, name, lambda: _Work(runs, "a"), poll=0.1)
    b = SingleActive(pg_dsn, name, lambda: _Work(runs, "b"), poll=0.1)
    tasks = [asyncio.create_task(a.run())]
    try:
        await asyncio.wait_for(a.leading.wait(), 5)
        tasks.append(asyncio.create_task(b.run()))
        await asyncio.sleep(0.5)  # b keeps trying meanwhile
        assert runs == ["a"] and not b.leading.is_set()
        # The holder's session ends as it does when its process is killed: the lock goes with it.
        await pool.execute(
            "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' "
            "and objid = (hashtextextended($1, 0) & 4294967295)::bigint::oid and granted",
            name,
        )
        # The work starts again, in whichever process locks first.
        await eventually(lambda: len(runs) >= 2, timeout=5)
        await asyncio.sleep(0.5)  # longer than a holder takes to notice a lost session
        assert len(runs) == 2
        assert sum(s.leading.is_set() for s in (a, b)) == 1
    finally:
        a.stop()
        b.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def test_one_session_alternates_single_appends_and_batches(store):
    """The append rule reads heads one way for one append and another for several: a session that
    runs both, in either order and many times (past the plan cache's custom plans), keeps working."""
    for n in range(8):
        await store.append(f"airing-alt-{n}", [scheduled()], Expect.NO_STREAM)
        await store.append_batch(
            [StreamAppend(f"airing-alt-{n}", [scheduled()], 1), StreamAppend("airing-alt-x", [scheduled()])]
        )
        await store.append(f"airing-alt-{n}", [scheduled(), scheduled()], 2)
    assert [e.stream_version for e in await store.read_stream("airing-alt-7")] == [1, 2, 3, 4]
    assert len(await store.read_stream("airing-alt-x")) == 8


async def test_appends_sharing_one_transaction_take_consecutive_positions(store, pool):
    """The running index within a transaction (migration 0005 reads it back from the transaction's
    own rows): single, several and batch appends in one transaction never share a position."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"create temporary table t_{uuid4().hex} (x int)")  # the id comes first
        results = [
            await store.append("airing-run-a", [scheduled()], Expect.NO_STREAM, connection=conn),
            await store.append("airing-run-a", [scheduled(), scheduled()], 1, connection=conn),
            *await store.append_batch(
                [
                    StreamAppend("airing-run-b", [scheduled(), scheduled()], Expect.NO_STREAM),
                    StreamAppend("airing-run-a", [scheduled()], 3),
                    StreamAppend("airing-run-b", [scheduled()], 2),
                ],
                connection=conn,
            ),
            await store.append("airing-run-b", [scheduled()], connection=conn),
        ]
    positions = [p for r in results for p in r.positions]
    assert len(positions) == 8
    assert positions == list(range(positions[0], positions[0] + 8))
    versions = [(r.first_version, r.last_version) for r in results]
    assert versions == [(1, 1), (2, 3), (1, 2), (4, 4), (3, 3), (4, 4)]
    events = await store.read_all(positions[0] - 1, limit=100)
    assert [e.global_position for e in events] == positions


async def test_a_batch_refused_by_a_later_append_names_that_append(store):
    await store.append("sample-late-a", [scheduled()])
    with pytest.raises(WrongExpectedVersion) as refused:
        await store.append_batch(
            [
                StreamAppend("sample-late-b", [scheduled()], Expect.NO_STREAM),
                StreamAppend("sample-late-a", [scheduled()], 1),
                StreamAppend("sample-late-a", [scheduled()], 1),  # the one before took version 2
            ]
        )
    assert (refused.value.stream_id, refused.value.expected, refused.value.actual) == ("sample-late-a", 1, 2)
    assert await store.read_stream("sample-late-b") == []


async def test_a_kept_connection_goes_back_when_the_pool_has_none_to_spare_or_the_store_idles(pg_dsn):
    """Standalone appends keep their connection while the pool could lend others one (the bench
    measures that); a waiter for the pool gets it within a linger, an idle store holds none after
    two."""
    pool = await open_pool(pg_dsn, min_size=1, max_size=2)
    store = await fresh_store(pool, "warm")
    try:
        appending = True

        async def appends() -> int:
            n = 0
            while appending:
                await store.append("sample-warm", [scheduled()])
                n += 1
                await asyncio.sleep(0.001)
            return n

        writer = asyncio.create_task(appends())
        await asyncio.sleep(0.1)  # several lingers, while the pool had one to spare
        async with pool.acquire():  # the other one; now the pool has none to spare
            async with asyncio.timeout(1):
                async with pool.acquire():  # waits for the store to hand its connection back
                    pass
        appending = False
        assert await writer > 10
        await asyncio.sleep(store._warm.linger * 3)
        assert pool.get_idle_size() == pool.get_size()
    finally:
        await store.close()
        await pool.close()
