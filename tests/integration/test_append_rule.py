"""The single exact-version append (``one_exact``): the append rule of migration 0006 inlined into a
plain INSERT, refusing what reserve_stream refuses, and answering with reserve_stream's reasons."""

import pytest

from services.eventstore.port import Expect, WrongExpectedVersion
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
    explain = "explain (verbose) " + store._statements.one_exact
    async with pool.acquire() as conn:
        plan = "\n".join(r[0] for r in await conn.fetch(explain, *_args("airing-p", 3)))
    assert "append_refusal" not in plan and "reserve_stream" not in plan, plan
    assert "LOA03" in plan and "events_stream_version_key" in plan, plan


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
        assert await old.fetchval(store._statements.one_exact, *_args("airing-stale", 2)) is None
        await tx.rollback()
    assert (await store.append("airing-stale", [scheduled()], 2)).positions
    assert [e.stream_version for e in await store.read_stream("airing-stale")] == [1, 2, 3]
