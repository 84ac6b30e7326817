"""A backlog keeps each airing's history in order on its way to the metrics service.

The metrics service is down while planners schedule, move twice and operators
confirm ~120 airings; when it starts, it takes the whole backlog at once (50
deliveries side by side). Its copy of every scheduler stream must have the
scheduler's order, its statistics the scheduler's answer, and a rebuild the same.
"""

from __future__ import annotations

import asyncio

from tests.faults import support_order
from tests.faults.support_order import (
    PLANNER,
    VIEWER,
    eventually,
    operator,
    per_stream,
    register_communes,
    schedule,
    slot,
)

servers, product, http = support_order.servers, support_order.product, support_order.http  # fixtures

COMMUNES, PER_COMMUNE = 12, 10  # 120 airings, 480 events


async def test_a_backlog_arrives_in_each_streams_order(product, http):
    scheduler = (await product.start("scheduler")).url
    communes = await register_communes(http, scheduler, COMMUNES)
    confirm = operator(communes)

    async def history(resource_id: str) -> list[str]:
        ids = []
        for day in range(PER_COMMUNE):
            airing = await schedule(http, scheduler, resource_id, slot(day * 2))
            for hours in (1, 2):  # moved twice, later the same evening
                moved = {"starts_at": (slot(day * 2).replace(hour=17 + hours)).isoformat(timespec="minutes")}
                async with http.post(
                    f"{scheduler}/v1/airings/{airing}/reschedule", json=moved, headers=PLANNER
                ) as r:
                    assert r.status == 200, await r.text()
            async with http.post(
                f"{scheduler}/v1/airings/{airing}/confirmation", json={"outcome": "aired"}, headers=confirm
            ) as r:
                assert r.status == 200, await r.text()
            ids.append(airing)
        return ids

    airings = [a for ids in await asyncio.gather(*(history(c) for c in communes)) for a in ids]
    assert len(airings) == COMMUNES * PER_COMMUNE

    source = await per_stream(product, "scheduler")
    expected_events = sum(len(v) for v in source.values())
    metrics = (await product.start("metrics")).url

    async def copied():
        [row] = await product.sql(
            "select count(*) as n from metrics.events where stream_id like 'schedule-%'"
        )
        return row["n"] == expected_events

    await eventually(copied, 60, f"the metrics log holds the {expected_events} scheduler events")
    copy = await per_stream(product, "metrics")
    out_of_order = [s for s in source if copy.get(s) != source[s]]
    assert out_of_order == []
    [held] = await product.sql("select count(*) as n from metrics.held_events")
    assert held["n"] == 0

    async def stats():
        async with http.get(f"{metrics}/v1/stats", params={"group_by": "kind"}, headers=VIEWER) as r:
            assert r.status == 200, await r.text()
            body = await r.json()
        return {row["keys"]["kind"]: row for row in body["rows"]}

    async def all_aired():
        rows = await stats()
        return rows.get("loudspeaker", {}).get("airings_aired") == len(airings) and rows

    before = await eventually(all_aired, 30, f"statistics count {len(airings)} aired airings")
    row = before["loudspeaker"]
    assert (row["airings_missed"], row["airings_bumped"], row["airings_cancelled"]) == (0, 0, 0)
    # Every airing's start in the metrics service is its last move, as in the scheduler.
    starts = await product.sql(
        "select count(*) as n from metrics.events where type = 'schedule.AiringRescheduled'"
    )
    assert starts[0]["n"] == 2 * len(airings)

    async with http.post(f"{metrics}/v1/admin/rebuild", headers=PLANNER) as r:
        assert r.status == 200, await r.text()
    after = await eventually(all_aired, 30, "the rebuilt statistics")
    assert after == before
