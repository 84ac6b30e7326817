"""Idempotency-Key under concurrency, against real PostgreSQL and RabbitMQ.

Every POST of both services is sent 20 times at once under one key: exactly one
write, every answer the same (or a clean 409 "in progress" with Retry-After),
no 5xx, and the pool healthy afterwards.
"""

import asyncio
from datetime import datetime, timedelta
from uuid import uuid4

import orjson
from aiohttp.test_utils import TestClient, TestServer

from services.common.settings import Settings
from services.metrics.bootstrap import create_app as create_metrics
from services.metrics.keys import READ_MODEL
from services.scheduler.adapters.projection import airing_by_id
from services.scheduler.keys import POOL, SCHEMA
from tests.integration.pg import unique_schema
from tests.integration.scheduler_api import (
    EA_TU,
    HOA_THANG,
    OPERATOR,
    PLANNER,
    SECRET,
    VIEWER,
    bearer,
    client,
    events_seen,
    register,
)

__all__ = ["client", "events_seen"]  # fixtures
TIMES = 20
FANPAGE = "page:facebook:bhxh-dak-lak"
STREAMER = bearer("operator", sub="Quản trị fanpage", resources=[FANPAGE])
COLLECTOR = bearer("collector", sub="Facebook Graph collector", province="dak-lak")
NATIONAL = bearer("planner", sub="Trung tâm Truyền thông BHXH Việt Nam")


async def storm(client, path, body, headers, times=TIMES):
    """``times`` simultaneous POSTs under one new key; the one answer they agree on."""
    key = f"storm-{uuid4()}"
    sent = headers | {"Idempotency-Key": key}
    responses = await asyncio.gather(*(client.post(path, json=body, headers=sent) for _ in range(times)))
    answers = [(r.status, await r.read(), r.headers) for r in responses]
    assert [s for s, _, _ in answers if s >= 500] == [], answers
    busy = [h for s, _, h in answers if s == 409]
    assert all(h.get("Retry-After") for h in busy)
    done = {(s, b) for s, b, _ in answers if s != 409}
    assert len(done) == 1, done  # identical answers
    [(status, raw)] = done
    assert 200 <= status < 300, raw
    return key, orjson.loads(raw)


async def writes(client_or_pool, schema, key, event_type):
    async with client_or_pool.acquire() as conn:
        return await conn.fetchval(
            f"select count(*) from {schema}.events where type = $1 and metadata->>'idempotency_key' = $2",
            event_type,
            key,
        )


async def healthy(client):
    """The pool answers at once: nothing was left holding a connection."""
    pool = client.server.app[POOL]
    async with asyncio.timeout(5):
        await asyncio.gather(*(pool.fetchval("select 1") for _ in range(pool.get_max_size() * 2)))
    assert (await client.get("/readyz")).status == 200


async def until_known(metrics, airing_id):
    """The metrics service has imported the airing (it travels through RabbitMQ)."""
    async with asyncio.timeout(15):
        # Polling: the import happens in another service, with nothing here to wait on.
        while (await metrics.get(f"/v1/airings/{airing_id}/metrics", headers=VIEWER)).status != 200:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def airing(resource, starts, **extra):
    return {"kind": "loudspeaker", "resource_id": resource, "starts_at": starts, "duration_minutes": 15,
            "title": "Bản tin BHYT học sinh, sinh viên", "language": "Kinh"} | extra  # fmt: skip


async def test_every_scheduler_post_under_one_key_writes_once(client):
    app = client.server.app
    pool, schema = app[POOL], app[SCHEMA]

    async def once(path, body, headers, event_type, count=1):
        key, answer = await storm(client, path, body, headers)
        assert await writes(pool, schema, key, event_type) == count, path
        return answer

    first = await once("/v1/airings", airing(EA_TU, "2023-08-07T17:30"), PLANNER, "schedule.AiringScheduled")
    second = await once("/v1/airings", airing(EA_TU, "2023-08-08T17:30"), PLANNER, "schedule.AiringScheduled")
    await once(f"/v1/airings/{first['airing_id']}/reschedule", {"starts_at": "2023-08-07T18:00"}, PLANNER,
               "schedule.AiringRescheduled")  # fmt: skip
    await once(f"/v1/airings/{second['airing_id']}/cancel", {"reason": "trùng lịch họp thôn"}, PLANNER,
               "schedule.AiringCancelled")  # fmt: skip
    await once(f"/v1/airings/{first['airing_id']}/confirmation", {"outcome": "aired"}, OPERATOR,
               "schedule.AiringConfirmed")  # fmt: skip

    await register(client, FANPAGE, {"type": "page", "name": "Fanpage BHXH Đắk Lắk", "province": "dak-lak",
                                     "platform": "facebook"})  # fmt: skip
    stream = {"kind": "livestream", "resource_id": FANPAGE, "starts_at": "2023-08-25T20:00",
              "duration_minutes": 60, "title": "Livestream BHYT"}  # fmt: skip
    live = await once("/v1/airings", stream, PLANNER, "schedule.AiringScheduled")
    # A past livestream is recorded with its real times (on its day, never "now").
    await once(f"/v1/airings/{live['airing_id']}/live", {"url": "https://facebook.com/bhxhdaklak/live",
               "at": "2023-08-25T20:01"}, STREAMER, "schedule.LivestreamWentLive")  # fmt: skip
    await once(f"/v1/airings/{live['airing_id']}/end", {"at": "2023-08-25T21:00"}, STREAMER,
               "schedule.LivestreamEnded")  # fmt: skip

    campaign = await once("/v1/campaigns", {"name": "BHYT học sinh, sinh viên", "province": "dak-lak",
                                            "starts_on": "2023-08-01", "ends_on": "2023-08-31",
                                            "communes": [EA_TU, HOA_THANG]},
                          PLANNER, "schedule.CampaignPlanned")  # fmt: skip
    fan_out = {"title": "Bản tin BHYT", "campaign_id": campaign["campaign_id"],
               "rule": "FREQ=WEEKLY;BYDAY=WE", "from_date": "2023-08-01", "to_date": "2023-08-31",
               "window": 2, "duration_minutes": 15}  # fmt: skip
    key, result = await storm(client, "/v1/fan-outs", fan_out, PLANNER)
    assert result["planned"] > 0
    assert await writes(pool, schema, key, "schedule.AiringScheduled") == result["planned"]

    start = (datetime.now() + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
    plan = {"resource_id": HOA_THANG, "kind": "loudspeaker", "rule": "FREQ=WEEKLY;BYDAY=TU",
            "first_start": start.isoformat(), "duration_minutes": 15, "title": "Luật BHXH năm 2024",
            "language": "Kinh"}  # fmt: skip
    series = await once("/v1/series", plan, PLANNER, "schedule.SeriesPlanned")
    path = f"/v1/series/{series['series_id']}"
    await once(f"{path}/revision", {"scope": "all", "title": "Luật BHXH 2024 — điểm mới"}, PLANNER,
               "schedule.SeriesRevised")  # fmt: skip
    await once(f"{path}/end", {"reason": "hết chiến dịch"}, PLANNER, "schedule.SeriesEnded")
    await healthy(client)


async def test_the_metrics_posts_under_one_key(client, pg_dsn, amqp_url):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    schema = unique_schema("metrics")
    async with TestClient(TestServer(create_metrics(settings, schema=schema))) as metrics:
        await register(client, FANPAGE, {"type": "page", "name": "Fanpage BHXH Đắk Lắk",
                                         "province": "dak-lak", "platform": "facebook"})  # fmt: skip
        body = {"kind": "livestream", "resource_id": FANPAGE, "starts_at": "2023-08-25T20:00",
                "duration_minutes": 60, "title": "Livestream BHYT"}  # fmt: skip
        live = await (await client.post("/v1/airings", json=body, headers=PLANNER)).json()
        await until_known(metrics, live["airing_id"])
        batch = {"items": [
            {"airing_id": live["airing_id"], "sampled_at": f"2023-08-25T20:{m:02}", "source": "facebook",
             "counters": {"views": 100 * m}} for m in range(1, 6)
        ]}  # fmt: skip
        key, result = await storm(metrics, "/v1/samples", batch, COLLECTOR)
        assert result["accepted"] == 5
        pool = metrics.server.app[READ_MODEL].store.pool
        assert await writes(pool, schema, key, "metrics.SampleRecorded") == 5
        await storm(metrics, "/v1/admin/rebuild", None, NATIONAL, times=3)
        assert (await metrics.get("/readyz")).status == 200


async def test_a_refusal_is_not_kept_and_a_retry_runs_again(client):
    first = await client.post("/v1/airings", json=airing(EA_TU, "2023-09-04T17:30"), headers=PLANNER)
    blocker = await first.json()
    retry = PLANNER | {"Idempotency-Key": "sau-khi-huy-lich-trung"}
    clash = await client.post("/v1/airings", json=airing(EA_TU, "2023-09-04T17:35"), headers=retry)
    assert clash.status == 409
    await client.post(f"/v1/airings/{blocker['airing_id']}/cancel", json={"reason": "dời"}, headers=PLANNER)
    again = await client.post("/v1/airings", json=airing(EA_TU, "2023-09-04T17:35"), headers=retry)
    assert again.status == 201, await again.text()
    assert "Idempotent-Replayed" not in again.headers


async def test_bodies_compare_canonically_and_keys_are_bounded(client):
    body = airing(HOA_THANG, "2023-09-05T17:30")
    key = PLANNER | {"Idempotency-Key": "k" * 255, "Content-Type": "application/json"}
    first = await client.post("/v1/airings", data=orjson.dumps(body), headers=key)
    assert first.status == 201, await first.text()
    spaced = orjson.dumps(dict(reversed(body.items())), option=orjson.OPT_INDENT_2)
    replay = await client.post("/v1/airings", data=spaced, headers=key)
    assert replay.status == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert await replay.read() == await first.read()
    assert replay.headers["Location"] == first.headers["Location"]
    other = await client.post("/v1/airings", json=body | {"title": "Bản tin khác"}, headers=key)
    assert other.status == 422 and "different request" in (await other.json())["detail"]
    for bad in ("k" * 256, "xuống\tdòng"):
        refused = await client.post("/v1/airings", json=body, headers=PLANNER | {"Idempotency-Key": bad})
        assert refused.status == 400 and refused.content_type == "application/problem+json"
    for path in ("/v1/airings/{}/live", "/v1/airings/{}/end", "/v1/airings/{}/confirmation"):
        long_key = OPERATOR | {"Idempotency-Key": "k" * 300}
        refused = await client.post(path.format(uuid4()), json={}, headers=long_key)
        assert refused.status in (400, 404)


async def test_many_writers_on_one_schedule_leave_the_pool_whole(client):
    """Every writer racing on one stream used to borrow a second connection while holding one:
    with the pool's 20 all held that way, nobody got one back and the service stayed 'down'."""
    bodies = [airing(EA_TU, f"2023-10-{day:02}T17:30") for day in range(1, 31)]
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.post("/v1/airings", json=b, headers=PLANNER) for b in bodies)), 60
    )
    assert {r.status for r in responses} <= {201, 503}  # 503: too many writers at once, retry
    for i, response in enumerate(responses):
        if response.status == 503:
            responses[i] = await client.post("/v1/airings", json=bodies[i], headers=PLANNER)
    assert [r.status for r in responses] == [201] * 30
    # A 201 answers from the decided events; the read model lists them a moment later.
    ids = [(await response.json())["airing_id"] for response in responses]
    async with asyncio.timeout(20), client.server.app[POOL].acquire() as conn:
        # Polling: the projection runs in the service's own task, with nothing to wait on here.
        while missing := [i for i in ids if await airing_by_id(conn, client.server.app[SCHEMA], i) is None]:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert missing == []
    await healthy(client)
