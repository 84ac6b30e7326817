"""Lists and feeds at national size, over HTTP against the running service (a subprocess).

- 3,321 communes x 2 airings a day x 30 days (199,260 airings) planned by two fan-outs (the
  fastest path the project has): 340 communes in one campaign (20,400 airings), the rest without;
- ``GET /v1/airings`` pages at random places of the 199,260 (after ANALYZE, as autovacuum
  leaves the table; a cursor made from a random row, as a client holding one would send it),
  whole list and filtered by province + language: p50 / p99;
  the deprecated ``offset`` deep in the list beside it, the way the lists used to page;
- the campaign's ``.ics`` over its month (20,400 events): size and time, and the conditional GET
  (304) a phone's next poll costs.
"""

from __future__ import annotations

import time

import aiohttp
import asyncpg

from bench.harness import Result, Timer, within
from bench.scheduler import (
    PLANNER,
    fan_out,
    fresh_scheduler,
    percentile,
    process,
    register_communes,
    until_listed,
)
from services.common import pages

PAGES = 50


async def timed_get(session, url: str, params: dict | None = None, headers: dict | None = None):
    started = time.perf_counter()
    async with session.get(url, params=params, headers=PLANNER | (headers or {})) as r:
        body = await r.read()
        if r.status not in (200, 304):
            raise RuntimeError(f"{r.status}: {body[:300]!r}")
        return time.perf_counter() - started, r, body


async def random_cursors(dsn: str, count: int, where: str = "true") -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            f"select starts_at, airing_id from scheduler.airings where {where} "
            f"order by random() limit {count}"
        )
    finally:
        await conn.close()
    return [pages.encode([r["starts_at"].isoformat(), str(r["airing_id"])]) for r in rows]


async def run(dsn: str, quick: bool = False) -> list[Result]:
    port, env = await fresh_scheduler(dsn)
    base = f"http://127.0.0.1:{port}"
    results: list[Result] = []
    timeout = aiohttp.ClientTimeout(total=900)
    n, in_campaign = (300, 40) if quick else (3321, 340)
    async with (
        process(["-m", "services.scheduler"], env, port),
        aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=32)) as session,
    ):
        communes = await register_communes(session, base, n, ["Kinh", "Êđê"], "toan-quoc")
        async with session.post(
            f"{base}/v1/campaigns",
            json={"name": "Luật BHXH năm 2024", "province": "toan-quoc", "starts_on": "2025-01-01",
                  "ends_on": "2025-01-31", "communes": communes[:in_campaign]},
            headers=PLANNER,
        ) as r:  # fmt: skip
            campaign_id = (await r.json())["campaign_id"]
        plan = {"title": "Luật BHXH năm 2024", "from_date": "2025-01-01", "to_date": "2025-01-30",
                "rule": "FREQ=DAILY", "window": 1, "duration_minutes": 15, "gap_minutes": 5}  # fmt: skip
        with Timer() as loading:
            _, first = await fan_out(session, base, plan | {"communes": communes[:in_campaign],
                                                            "campaign_id": campaign_id})  # fmt: skip
            _, rest = await fan_out(session, base, plan | {"communes": communes[in_campaign:]})
            total = first["planned"] + rest["planned"]
            await within(
                600,
                f"the read model lists {total:,} airings",
                until_listed(session, base, "2025-01-01", "2025-01-31", total),
            )
        # What autovacuum does within a minute of such a load; measured before it, the planner still
        # believes the table small and walks it whole for a filtered page.
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("analyze scheduler.airings; analyze scheduler.resources")
        finally:
            await conn.close()
        url = f"{base}/v1/airings"

        # -- pages at random places --------------------------------------------------------------
        for cursor in await random_cursors(dsn, 5):  # warm-up: the first plans after ANALYZE
            await timed_get(session, url, {"limit": 100, "cursor": cursor})
        whole = [
            (await timed_get(session, url, {"limit": 100, "cursor": c}))[0]
            for c in await random_cursors(dsn, PAGES)
        ]
        kinh = "language = 'Kinh'"
        filtered = [
            (
                await timed_get(
                    session, url, {"limit": 100, "cursor": c, "province": "toan-quoc", "language": "Kinh"}
                )
            )[0]
            for c in await random_cursors(dsn, PAGES, kinh)
        ]
        deep, _, _ = await timed_get(session, url, {"limit": 100, "offset": total - 200})
        for label, times in (("whole list", whole), ("province + language", filtered)):
            results.append(
                Result(
                    f"GET /v1/airings page at a random cursor, {label}, p99",
                    "ms",
                    percentile(times, 0.99) * 1000,
                    note=f"{PAGES} pages of 100 over {total:,} airings; "
                    f"p50 {percentile(times, 0.5) * 1000:.1f} ms; "
                    f"target p99 < 100 ms; the deprecated offset={total - 200:,}: {deep * 1000:.0f} ms",
                )
            )

        # -- the campaign's feed -----------------------------------------------------------------
        feed = f"{base}/v1/campaigns/{campaign_id}/calendar.ics"
        window = {"from": "2025-01-01", "to": "2025-02-01"}
        seconds, response, body = await timed_get(session, feed, window)
        events = body.count(b"BEGIN:VEVENT")
        again, unchanged, _ = await timed_get(
            session, feed, window, {"If-None-Match": response.headers["ETag"]}
        )
        assert unchanged.status == 304
        results.append(
            Result(
                f"campaign .ics over its month ({events:,} events)",
                "s",
                seconds,
                note=f"{len(body) / 1e6:.1f} MB, every airing of the window "
                "(was cut to 20,000 at 5.9 MB, 17.6 s); "
                f"the next poll unchanged: 304 in {again * 1000:.0f} ms; loading {total:,} airings by two "
                f"fan-outs took {loading.seconds:.0f} s",
            )
        )
    return results
