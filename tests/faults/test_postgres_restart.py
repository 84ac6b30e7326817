"""PostgreSQL ``-m immediate`` restart while 20 clients POST airings with Idempotency-Keys and retry.

Each client plans 12 livestreams on a page of its own, one request at a time,
and retries every request that was not answered 2xx, under the same key, as
the API asks clients to. A second into the burst PostgreSQL is restarted with
``pg_ctl -m immediate`` (every backend killed, crash recovery). Then: each
acknowledged airing is stored exactly once in the scheduler's log and reaches
the metrics service's log once; while the database was away the answers were
503 with Retry-After (never 500); both services are ready again within 15 s,
and nothing sent 5 s after recovery gets a 5xx.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import aiohttp

from tests.faults.conftest import PLANNER
from tests.faults.workload import START, Answers, probe_after_recovery, until

CLIENTS = 20
EACH = 12
SCHEDULED = "schedule.AiringScheduled"


async def client(product, n: int, answers: Answers, acknowledged: dict[str, str], retry_after: set[str]):
    page = f"page:facebook:trang-{n}"
    body = {"type": "page", "name": f"Trang tin số {n}", "province": "dak-lak", "platform": "facebook"}
    async with aiohttp.ClientSession() as http:
        url = f"{product.scheduler.url}/v1/resources/{page}"
        await request(http, "PUT", url, body, {}, answers, retry_after)
        for i in range(EACH):
            key = f"client-{n}-airing-{i}"
            airing = {
                "kind": "livestream",
                "resource_id": page,
                "starts_at": (START + timedelta(hours=2 * i)).isoformat(),
                "duration_minutes": 60,
                "title": f"Tọa đàm chính sách BHXH, trang {n}, buổi {i + 1}",
            }
            answer = await request(
                http, "POST", f"{product.scheduler.url}/v1/airings", airing, {"Idempotency-Key": key},
                answers, retry_after,
            )  # fmt: skip
            acknowledged[key] = answer["airing_id"]
            await asyncio.sleep(0.15)


async def request(http, method, url, body, headers, answers: Answers, retry_after: set[str]) -> dict:
    """Until 2xx: as a client that reads Retry-After does, without waiting that long (the test is bounded)."""
    deadline = time.monotonic() + 60
    while True:
        sent = time.monotonic()
        try:
            async with http.request(
                method, url, json=body, headers=PLANNER | headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as r:
                answers.note(sent, r.status)
                if r.status < 300:
                    return await r.json()
                if r.status == 503:
                    retry_after.add(r.headers.get("Retry-After", "missing"))
                    assert r.content_type == "application/problem+json"
                else:
                    assert r.status >= 500, f"{r.status}: {await r.text()}"
        except (aiohttp.ClientError, TimeoutError):
            answers.note(sent, 0)
        assert time.monotonic() < deadline, f"{method} {url} never succeeded"
        await asyncio.sleep(0.2)


async def test_a_database_restart_loses_and_doubles_no_acknowledged_write(product):
    answers, acknowledged, retry_after = Answers(), {}, set()
    burst = [
        asyncio.create_task(client(product, n, answers, acknowledged, retry_after)) for n in range(CLIENTS)
    ]
    await asyncio.sleep(1.0)
    restarted = time.monotonic()
    await asyncio.to_thread(product.breaker.restart_postgres)
    recovered = time.monotonic()
    ready = await asyncio.gather(product.wait_ready(product.scheduler), product.wait_ready(product.metrics))
    await asyncio.gather(*burst)
    assert max(ready) < 15, f"ready again after {ready} s"

    assert len(acknowledged) == CLIENTS * EACH
    ids = sorted(acknowledged.values())
    assert len(set(ids)) == len(ids), "one airing per Idempotency-Key"
    stored = await product.fetchval(
        "select array_agg(data->>'airing_id' order by data->>'airing_id') from scheduler.events "
        f"where type = '{SCHEDULED}' and stream_id like 'schedule-page:facebook:trang-%'"
    )
    assert stored == ids, "every acknowledged write stored exactly once"

    async def metrics_has_them():
        return await product.fetchval(
            f"select count(*) from metrics.events where type = '{SCHEDULED}' "
            "and data->>'resource_id' like 'page:facebook:trang-%'"
        ) >= len(ids)  # fmt: skip

    assert await until(metrics_has_them, timeout=30)
    assert await product.fetchval(
        "select count(distinct event_id) = count(*) from metrics.events where type = $1", SCHEDULED
    )
    failures = answers.server_errors()
    assert set(failures) <= {503}, f"only 503 while the database was away, got {sorted(set(failures))}"
    assert retry_after <= {"5"}, retry_after
    print(f"restart {recovered - restarted:.1f} s, {failures.count(503)} × 503, ready in {max(ready):.1f} s")

    await asyncio.sleep(max(0.0, recovered + 5 - time.monotonic()))
    late = time.monotonic()
    await probe_after_recovery(product, answers, ids[0])
    assert answers.server_errors(sent_after=late) == []
