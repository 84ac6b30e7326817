"""The PostgreSQL store's scan leaves out parked events when asked (the rest of scan's contract is in
tests/eventstore_contract.py, run on both stores)."""

from services.eventstore.parking import ParkingLot
from tests.eventstore_contract import sample
from tests.integration.pg import fresh_store


async def test_a_scan_skipping_parked_events_leaves_out_exactly_those(pool):
    store = await fresh_store(pool, "scan")
    result = await store.append("sample-p1", [sample(1), sample(2), sample(3)])
    assert [r[0] for r in await store.scan(0, skip_parked=True)] == list(result.positions)
    [poison] = await store.read_positions([result.positions[1]])
    lot = ParkingLot(store.schema)
    async with pool.acquire() as conn:
        await lot.park(conn, "statistics-g1", poison, "unreadable counters")
    kept = await store.scan(0, skip_parked=True)
    assert [r[0] for r in kept] == [result.positions[0], result.positions[2]]
    assert len(await store.scan(0)) == 3  # a plain scan reads the whole log
    await store.close()
