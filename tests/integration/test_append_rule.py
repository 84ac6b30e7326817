"""The single exact-version append (``one_known``, ``one_next``): the append rule of migration 0006
inlined into a plain INSERT, refusing what reserve_stream refuses, and answering with
reserve_stream's reasons."""

import asyncpg
import pytest

from services.eventstore.port import Expect, WrongExpectedVersion
from services.eventstore.postgres import PostgresEventStore
from tests.eventstore_contract import scheduled
from tests.integration.pg import fresh_store


@pytest.fixture
async def store(pool):
    store = await fresh_store(pool, "rule")
    yield store
    await store.close()


def _args(stream_id: str, expected: int) -> tuple:
    e = scheduled()
    return stream_id, expected, e.event_id, e.type, e.schema_version, e.data, e.metadata, e.occurred_at


async def test_the_single_exact_append_is_one_plain_statement_with_the_rule_inlined(store, pool):
    explain = "explain (verbose) " + store._statements.one_next
    async with pool.acquire() as conn:
        plan = "\n".join(r[0] for r in await conn.fetch(explain, *_args("airing-p", 3)))
    assert "append_refusal" not in plan and "reserve_stream" not in plan, plan
    assert "LOA03" in plan and "events_stream_version_key" in plan, plan
    # The probe runs once, before the insert (an InitPlan), not as a per-row subplan.
    assert "InitPlan" in plan and "SubPlan" not in plan, plan


async def test_a_version_the_store_has_seen_is_one_insert_that_the_unique_index_arbitrates(store, pool):
    explain = "explain (verbose) " + store._statements.one_known
    async with pool.acquire() as conn:
        plan = "\n".join(r[0] for r in await conn.fetch(explain, *_args("airing-k", 0)))
        assert "events_stream_version_key" not in plan and "InitPlan" not in plan, plan
        assert await conn.fetchval(store._statements.one_known, *_args("airing-k", 0))
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.fetchval(store._statements.one_known, *_args("airing-k", 0))
    with pytest.raises(WrongExpectedVersion) as refused:
        await store.append("airing-k", [scheduled()], Expect.NO_STREAM)
    assert (refused.value.expected, refused.value.actual) == (Expect.NO_STREAM, 1)


async def test_another_writers_append_is_not_taken_for_the_version_the_store_saw(store, pool):
    # This store saw version 1; another process appends version 2. An append at 1 (stale) is
    # refused by the unique index, one at 3 (ahead) by the probe, and one at 2 goes through.
    other = PostgresEventStore(pool, store.schema)
    await store.append("airing-two", [scheduled()], Expect.NO_STREAM)
    await other.append("airing-two", [scheduled()], 1)
    with pytest.raises(WrongExpectedVersion) as stale:
        await store.append("airing-two", [scheduled()], 1)
    assert stale.value.actual == 2
    with pytest.raises(WrongExpectedVersion) as ahead:
        await store.append("airing-two", [scheduled()], 3)
    assert ahead.value.actual == 2
    assert (await store.append("airing-two", [scheduled()], 2)).first_version == 3
    assert [e.stream_version for e in await store.read_stream("airing-two")] == [1, 2, 3]
    await other.close()


async def test_an_exact_append_ahead_of_the_stream_is_refused_with_the_actual_version(store):
    await store.append("airing-ahead", [scheduled()], Expect.NO_STREAM)
    with pytest.raises(WrongExpectedVersion) as refused:
        await store.append("airing-ahead", [scheduled()], 5)
    assert (refused.value.expected, refused.value.actual) == (5, 1)
    assert [e.stream_version for e in await store.read_stream("airing-ahead")] == [1]


async def test_a_single_event_resent_after_its_stream_moved_on_answers_its_original_position(store):
    first, second = scheduled(), scheduled()
    stored = await store.append("airing-resent", [first], Expect.NO_STREAM)
    await store.append("airing-resent", [second], 1)
    again = await store.append("airing-resent", [first], Expect.NO_STREAM)
    assert again.duplicate and again.positions == stored.positions and again.first_version == 1
    assert (await store.append("airing-resent", [second], 1)).duplicate
    assert len(await store.read_stream("airing-resent")) == 2


async def test_the_statement_refuses_a_transaction_older_than_the_streams_last_event(store, pool):
    # A transaction that took its id before the stream's last event would place its event before
    # that event (LOA03): the statement inserts nothing, though the version matches.
    await store.append("airing-stale", [scheduled()], Expect.NO_STREAM)
    async with pool.acquire() as old:
        tx = old.transaction()
        await tx.start()
        await old.fetchval("select pg_current_xact_id()")
        await store.append("airing-stale", [scheduled()], 1)
        assert await old.fetchval(store._statements.one_next, *_args("airing-stale", 2)) is None
        await tx.rollback()
    assert (await store.append("airing-stale", [scheduled()], 2)).positions
    assert [e.stream_version for e in await store.read_stream("airing-stale")] == [1, 2, 3]
