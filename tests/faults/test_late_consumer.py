"""A consumer that starts late, or whose database was reset, learns every earlier airing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from tests.faults import support_order
from tests.faults.support_order import COLLECTOR, eventually, plan_across, register_communes

servers, product, http = support_order.servers, support_order.product, support_order.http  # fixtures

AIRINGS = 50


async def known(product, airings: list[str]) -> int:
    rows = await product.sql(
        "select count(distinct data->>'airing_id') as n from metrics.events "
        "where type = 'schedule.AiringScheduled'"
    )
    return rows[0]["n"]


async def samples_accepted(http, metrics: str, airings: list[str]) -> int:
    items = [
        {"airing_id": a, "sampled_at": "2023-08-01T18:00", "source": "facebook", "counters": {"views": 17}}
        for a in airings
    ]
    async with http.post(f"{metrics}/v1/samples", json={"items": items}, headers=COLLECTOR) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["accepted"]


async def test_a_late_consumer_and_a_reset_one_know_every_earlier_airing(product, http):
    scheduler = (await product.start("scheduler")).url
    communes = await register_communes(http, scheduler, 5)
    airings = await plan_across(http, scheduler, communes, AIRINGS // 5)
    assert len(set(airings)) == AIRINGS

    # 1. The metrics service starts for the first time, after all of it: its queue was waiting.
    metrics = (await product.start("metrics")).url

    async def all_known():
        return await known(product, airings) == AIRINGS

    await eventually(all_known, 30, f"the late metrics service knows the {AIRINGS} airings")
    assert await samples_accepted(http, metrics, airings) == AIRINGS

    # 2. Its database is reset: everything it had is gone; a replay from the start brings it back.
    product.kill("metrics")  # and its database is lost with it
    for [schema] in await product.sql("select nspname from pg_namespace where nspname like 'metrics%'"):
        await product.sql(f"drop schema {schema} cascade")
    metrics = (await product.start("metrics")).url
    assert await known(product, airings) == 0
    env = {**os.environ, **product.stack.app_env()}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.bus.replay", "metrics.scheduler-events"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "published" in done.stdout
    await eventually(all_known, 30, f"the reset metrics service knows the {AIRINGS} airings again")
    [[count], [distinct]] = await product.sql(
        "select count(*) from metrics.events union all select count(distinct event_id) from metrics.events"
    )
    assert count == distinct  # nothing doubled
    assert await samples_accepted(http, metrics, airings) == AIRINGS
