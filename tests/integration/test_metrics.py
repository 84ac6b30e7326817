"""The metrics service against real PostgreSQL and RabbitMQ, fed by a real scheduler.

A livestream from the seeds: "BHXH Đắk Lắk" fanpage, 1,700 views, 778
interactions, 139 shares, 105 comments.
"""

import asyncio
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import aio_pika
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.bus.topology import DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, declare_exchanges
from services.common.settings import Settings
from services.eventstore.port import NewEvent
from services.metrics.bootstrap import create_app as create_metrics
from services.metrics.domain.samples import samples_stream
from services.metrics.keys import READ_MODEL
from tests.integration.pg import unique_schema
from tests.integration.scheduler_api import PLANNER, SECRET, VIEWER, bearer, client, events_seen, register

__all__ = ["client", "events_seen"]  # fixtures: `client` is the scheduler
COLLECTOR = bearer("collector", sub="Facebook Graph collector")
FANPAGE = "page:facebook:bhxh-dak-lak"
FINAL = {"views": 1700, "interactions": 778, "shares": 139, "comments": 105}


@pytest.fixture
async def metrics(pg_dsn, amqp_url, client):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    schema = unique_schema("metrics")
    app = create_metrics(settings, schema=schema)
    async with TestClient(TestServer(app)) as metrics:
        metrics.schema = schema
        yield metrics


async def until(check, timeout=15.0):
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.05)


async def livestream(client):
    await register(client, FANPAGE, {"type": "page", "name": "Fanpage BHXH Đắk Lắk", "province": "dak-lak",
                                     "platform": "facebook"})  # fmt: skip
    response = await client.post(
        "/v1/airings",
        json={"kind": "livestream", "resource_id": FANPAGE, "starts_at": "2023-08-25T20:00",
              "duration_minutes": 60, "title": "Livestream: BHYT học sinh, sinh viên"},
        headers=PLANNER,
    )  # fmt: skip
    assert response.status == 201, await response.text()
    return (await response.json())["airing_id"]


async def known_to_metrics(metrics, airing_id):
    async def seen():
        response = await metrics.get(f"/v1/airings/{airing_id}/metrics", headers=VIEWER)
        return response.status == 200

    await until(seen)


def at(minute):
    return (datetime(2023, 8, 25, 20, 0) + timedelta(minutes=minute)).isoformat()


async def test_samples_become_statistics_and_old_ones_never_lower_a_figure(client, metrics):
    airing_id = await livestream(client)
    await known_to_metrics(metrics, airing_id)
    batch = {"items": [
        {"airing_id": airing_id, "sampled_at": at(10), "source": "facebook", "counters": {"views": 400}},
        {"airing_id": airing_id, "sampled_at": at(60), "source": "facebook", "counters": FINAL},
        {"airing_id": airing_id, "sampled_at": at(30), "source": "facebook", "counters": {"views": 900}},
        {"airing_id": airing_id, "sampled_at": at(31), "counters": {"views": -5}},
        {"airing_id": str(uuid4()), "sampled_at": at(31), "counters": {"views": 5}},
        {"airing_id": airing_id, "sampled_at": at(61), "counters": {"peak_viewers": 212}},
    ]}  # fmt: skip
    response = await metrics.post("/v1/samples", json=batch, headers=COLLECTOR)
    assert response.status == 200, await response.text()
    result = await response.json()
    assert result["accepted"] == 4
    assert [(r["index"], r["field"]) for r in result["rejected"]] == [(3, "counters.views"), (4, "airing_id")]
    again = await (await metrics.post("/v1/samples", json=batch, headers=COLLECTOR)).json()
    assert again["accepted"] == 4 and again["position"] == 0  # nothing stored twice

    mine = await (await metrics.get(f"/v1/airings/{airing_id}/metrics", headers=VIEWER)).json()
    assert mine["counters"] == FINAL | {"peak_viewers": 212}
    assert [p["value"] for p in mine["history"]["views"]] == [400, 900, 1700]
    assert mine["history"]["views"][0]["sampled_at"] == "2023-08-25T20:10:00+07:00"

    stats = await (
        await metrics.get("/v1/stats", params={"group_by": "kind,platform"}, headers=VIEWER)
    ).json()
    [row] = [r for r in stats["rows"] if r["keys"] == {"kind": "livestream", "platform": "facebook"}]
    assert row["counters"]["views"] >= 1700
    assert (await metrics.post("/v1/samples", json=batch, headers=VIEWER)).status == 403
    bad_group = await metrics.get("/v1/stats", params={"group_by": "colour"}, headers=VIEWER)
    assert bad_group.status == 422 and (await bad_group.json())["errors"][0]["field"] == "group_by"


async def test_as_of_and_rebuild_give_the_same_figures(client, metrics):
    airing_id = await livestream(client)
    await known_to_metrics(metrics, airing_id)
    first = await (await metrics.post("/v1/samples", json={"items": [
        {"airing_id": airing_id, "sampled_at": at(20), "counters": {"views": 800, "comments": 40}}]},
        headers=COLLECTOR)).json()  # fmt: skip
    await metrics.post("/v1/samples", json={"items": [
        {"airing_id": airing_id, "sampled_at": at(60), "counters": FINAL}]}, headers=COLLECTOR)  # fmt: skip
    params = {"group_by": "kind", "kind": "livestream", "resource_id": FANPAGE}
    then = await (
        await metrics.get("/v1/stats", params=params | {"as_of": str(first["position"])}, headers=VIEWER)
    ).json()
    assert then["rows"][0]["counters"] == {"comments": 40, "views": 800}
    now = await (await metrics.get("/v1/stats", params=params, headers=VIEWER)).json()
    assert now["rows"][0]["counters"] == {"comments": 105, "interactions": 778, "shares": 139, "views": 1700}
    national = bearer("planner", sub="BHXH Việt Nam")
    rebuilt = await metrics.post("/v1/admin/rebuild", headers=national)
    assert rebuilt.status == 200, await rebuilt.text()
    after = await (await metrics.get("/v1/stats", params=params, headers=VIEWER)).json()
    assert after["rows"] == now["rows"]
    assert (await metrics.post("/v1/admin/rebuild", headers=PLANNER)).status == 403  # a province's planner


async def test_the_time_series_is_the_log_as_of_a_position_and_old_sample_versions_count(client, metrics):
    airing_id = await livestream(client)
    await known_to_metrics(metrics, airing_id)
    first = await (await metrics.post("/v1/samples", json={"items": [
        {"airing_id": airing_id, "sampled_at": at(20), "counters": {"views": 800, "comments": 40}}]},
        headers=COLLECTOR)).json()  # fmt: skip
    await metrics.post("/v1/samples", json={"items": [
        {"airing_id": airing_id, "sampled_at": at(60), "counters": FINAL}]}, headers=COLLECTOR)  # fmt: skip
    # A reading stored by the first version of the contract (four fixed counters), the newest one.
    read_model = metrics.app[READ_MODEL]
    v1 = {"airing_id": airing_id, "sampled_at": "2023-08-25T21:10:00+07:00", "source": "facebook",
          "views": 1800, "reactions": 800, "shares": 140, "comments": None}  # fmt: skip
    stored = await read_model.store.append(
        samples_stream(UUID(airing_id)), [NewEvent(uuid4(), "metrics.SampleRecorded", 1, v1)]
    )
    await read_model.wait_until(stored.last_position)

    async def airing(**params):
        response = await metrics.get(f"/v1/airings/{airing_id}/metrics", params=params, headers=VIEWER)
        assert response.status == 200, await response.text()
        return await response.json()

    live = await airing()
    assert live["counters"] == FINAL | {"views": 1800, "reactions": 800, "shares": 140}
    assert [p["value"] for p in live["history"]["views"]] == [800, 1700, 1800]
    assert [p["value"] for p in live["history"]["reactions"]] == [800]
    then = await airing(as_of=str(first["position"]))
    assert then["counters"] == {"views": 800, "comments": 40}
    assert then["history"] == {
        "comments": [live["history"]["comments"][0]],
        "views": [live["history"]["views"][0]],
    }

    national = bearer("planner", sub="BHXH Việt Nam")
    assert (await metrics.post("/v1/admin/rebuild", headers=national)).status == 200
    assert await airing() == live
    assert await airing(as_of=str(first["position"])) == then


async def read_sse(response, count):
    """The next ``count`` SSE messages as (event, id, data)."""
    messages, event, ident, data = [], None, None, []
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            ident = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            messages.append((event, ident, orjson.loads("\n".join(data))))
            event, ident, data = None, None, []
            if len(messages) == count:
                return messages
    return messages


async def next_counted(response):
    """The next SSE message of an airing with counters."""
    while True:
        [(event, ident, update)] = await read_sse(response, 1)
        if update.get("counters"):
            return event, ident, update


async def test_live_updates_over_sse_and_resuming_with_last_event_id(client, metrics):
    airing_id = await livestream(client)
    await known_to_metrics(metrics, airing_id)
    token = VIEWER["Authorization"].removeprefix("Bearer ")
    url = f"/v1/stream?airing_id={airing_id}&token={token}"
    async with metrics.get(url) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        [(event, _, _)] = await read_sse(response, 1)
        assert event == "hello"
        first = {"airing_id": airing_id, "sampled_at": at(5), "counters": {"views": 120}}
        await metrics.post("/v1/samples", json={"items": [first]}, headers=COLLECTOR)
        # The airing's state before any sample may come first: its scheduling was still on its way
        # to the feed when the stream opened.
        event, ident, update = await asyncio.wait_for(next_counted(response), 10)
    assert event == "airing" and update["counters"] == {"views": 120} and int(ident) > 0
    # Away while two more samples arrive; back with Last-Event-ID: the latest state comes first.
    await metrics.post("/v1/samples", json={"items": [
        {"airing_id": airing_id, "sampled_at": at(50), "counters": FINAL}]}, headers=COLLECTOR)  # fmt: skip
    async with metrics.get(url, headers={"Last-Event-ID": ident}) as response:
        [(event, again, update)] = await asyncio.wait_for(read_sse(response, 1), 10)
    assert update["counters"] == FINAL and int(again) > int(ident)


async def test_samples_from_the_queue_and_bad_messages_to_the_dead_letter_queue(client, metrics, amqp_url):
    airing_id = await livestream(client)
    await known_to_metrics(metrics, airing_id)
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        await declare_exchanges(channel)
        dead = await channel.declare_queue("", exclusive=True)
        await dead.bind(DEAD_LETTER_EXCHANGE, routing_key=f"{metrics.schema}.samples")
        updates = await channel.declare_queue("", exclusive=True)
        await updates.bind(EVENTS_EXCHANGE, routing_key="metrics.StatisticsUpdated")
        queue = f"{metrics.schema}.samples"
        good = [
            {"airing_id": airing_id, "sampled_at": at(m), "counters": {"views": 10 * m}} for m in range(1, 51)
        ]
        for sample in good:
            await channel.default_exchange.publish(aio_pika.Message(orjson.dumps(sample)), routing_key=queue)
        await channel.default_exchange.publish(aio_pika.Message(b"{not json"), routing_key=queue)
        await channel.default_exchange.publish(
            aio_pika.Message(
                orjson.dumps({"airing_id": airing_id, "sampled_at": at(1), "counters": {"views": -1}})
            ),
            routing_key=queue,
        )

        async def views():
            response = await metrics.get(f"/v1/airings/{airing_id}/metrics", headers=VIEWER)
            return (await response.json())["counters"].get("views") == 500

        await until(views)
        bodies = []
        async with dead.iterator() as messages:
            async for message in messages:
                await message.ack()
                bodies.append((message.body, message.headers["x-loa-error"]))
                if len(bodies) == 2:
                    break
        assert {b for b, _ in bodies} == {b"{not json", orjson.dumps(
            {"airing_id": airing_id, "sampled_at": at(1), "counters": {"views": -1}})}  # fmt: skip
        assert any("negative" in why for _, why in bodies)
        message = await until(lambda: updates.get(fail=False))
        published = orjson.loads(message.body)
        assert published["airing_id"] == airing_id and "views" in published["counters"]
    finally:
        await connection.close()


async def test_the_scheduler_events_are_kept_once_in_the_metrics_log(client, metrics, pg_dsn):
    import asyncpg

    airing_id = await livestream(client)
    await known_to_metrics(metrics, airing_id)
    conn = await asyncpg.connect(pg_dsn)
    try:
        count = await conn.fetchval(
            f"select count(*) from {metrics.schema}.events where type = 'schedule.AiringScheduled' "
            "and data->>'airing_id' = $1",
            airing_id,
        )
    finally:
        await conn.close()
    assert count == 1


async def test_the_monthly_report_in_json_csv_and_xlsx_and_byte_identical_replays(client, metrics):
    from io import BytesIO

    from openpyxl import load_workbook

    airing_id = await livestream(client)
    commune = "loudspeaker:xa-ea-tu-2"
    await register(client, commune, {"type": "commune", "name": "Xã Ea Tu", "province": "dak-lak",
                   "code": "24133", "languages": ["Kinh", "Êđê"],
                   "windows": [{"start": "17:00", "end": "18:30"}]})  # fmt: skip
    fan = await client.post("/v1/fan-outs", json={
        "title": "Bản tin BHYT học sinh, sinh viên", "communes": [commune],
        "dates": ["2023-08-02", "2023-08-04"], "duration_minutes": 15, "gap_minutes": 5},
        headers=PLANNER)  # fmt: skip
    assert fan.status == 201, await fan.text()
    listed = await (await client.get("/v1/airings", params={"resource_id": commune}, headers=VIEWER)).json()
    operator = bearer("operator", sub="Y Bơ Êban", resources=[commune, FANPAGE])
    outcomes = [{"outcome": "aired"}] * 3 + [{"outcome": "missed", "reason": "mưa"}]
    for airing, body in zip(listed["items"], outcomes, strict=True):
        assert (await client.post(f"/v1/airings/{airing['airing_id']}/confirmation", json=body,
                                  headers=operator)).status == 200  # fmt: skip
    await known_to_metrics(metrics, airing_id)
    await metrics.post("/v1/samples", json={"items": [
        {"airing_id": airing_id, "sampled_at": at(60), "counters": FINAL}]}, headers=COLLECTOR)  # fmt: skip

    async def report(form, **extra):
        params = {"province": "dak-lak", "month": "2023-08", "format": form} | extra
        response = await metrics.get("/v1/reports/monthly", params=params, headers=VIEWER)
        assert response.status == 200, await response.text()
        return response, await response.read()

    async def confirmed():  # all four confirmations imported, the miss included (they come one by one)
        _, body = await report("json")
        lines = orjson.loads(body)["loudspeaker_by_commune"]
        line = next((x["values"] for x in lines if x["values"]["code"] == "24133"), {})
        return line.get("aired", 0) + line.get("missed", 0) >= 4

    await until(confirmed)
    response, body = await report("json")
    data = orjson.loads(body)
    position = response.headers["Loa-As-Of-Position"]
    ea_tu = next(line for line in data["loudspeaker_by_commune"] if line["values"]["code"] == "24133")
    assert ea_tu["values"] == {
        "code": "24133",
        "languages": "Kinh, Êđê",
        "planned": 4,
        "aired": 3,
        "missed": 1,
    }
    livestream_line = next(line for line in data["livestreams"] if line["values"]["views"] == 1700)
    assert livestream_line["values"]["comments"] == 105
    _, csv_body = await report("csv", as_of=position)
    text = csv_body.decode("utf-8-sig")
    assert "Lượt phát loa đã phát" in text and "1.700" in text and "Xã Ea Tu" in text
    _, xlsx = await report("xlsx", as_of=position)
    sheet = load_workbook(BytesIO(xlsx))["Tổng hợp"]
    assert sheet["A1"].value.startswith("Báo cáo công tác truyền thông tháng 8/2023")
    # The same log gives the same bytes: again, and after a rebuild of every statistic.
    assert (await report("xlsx", as_of=position))[1] == xlsx
    await metrics.post("/v1/admin/rebuild", headers=bearer("planner", sub="BHXH Việt Nam"))
    assert (await report("csv", as_of=position))[1] == csv_body
    assert (await report("xlsx", as_of=position))[1] == xlsx
