"""Corrections, make-ups and history: a confirmation changes only explicitly, the latest counts,
the history keeps every record; a made-up miss counts once (real PostgreSQL and RabbitMQ)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.common.settings import Settings
from services.metrics.bootstrap import create_app as create_metrics
from tests.integration.pg import unique_schema
from tests.integration.scheduler_api import (
    PLANNER,
    SECRET,
    VIEWER,
    bearer,
    client,
    commune,
    events_seen,
    register,
)

__all__ = ["client", "events_seen"]
EA_KAO = "loudspeaker:xa-ea-kao-cr"
OPERATOR = bearer("operator", sub="Y Bơ Êban", resources=[EA_KAO])
STRANGER = bearer("operator", sub="H'Hen Niê", resources=["loudspeaker:xa-khac"])


@pytest.fixture
async def metrics(pg_dsn, amqp_url, client):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    async with TestClient(TestServer(create_metrics(settings, schema=unique_schema("metrics")))) as metrics:
        yield metrics


async def until(check, timeout=20.0):
    async with asyncio.timeout(timeout):
        # Polling: the metrics service hears of the scheduler's events through RabbitMQ.
        while not (result := await check()):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return result


async def plan(client, day, **extra) -> str:
    body = {
        "kind": "loudspeaker",
        "resource_id": EA_KAO,
        "starts_at": f"2023-08-{day:02d}T17:00",
        "duration_minutes": 15,
        "title": f"Bản tin ngày {day}",
        "language": "Kinh",
    } | extra
    response = await client.post("/v1/airings", json=body, headers=PLANNER)
    assert response.status == 201, await response.text()
    return (await response.json())["airing_id"]


async def test_a_confirmation_is_corrected_explicitly_and_the_history_keeps_both(client, metrics):
    await register(client, EA_KAO, commune("Xã Ea Kao", ["Kinh"], code="24955"))
    airing = await plan(client, 7)
    url = f"/v1/airings/{airing}"
    first = await client.post(f"{url}/confirmation", json={"outcome": "aired"}, headers=OPERATOR)
    assert first.status == 200, await first.text()

    # A second confirmation with another outcome is refused, naming the first.
    second = await client.post(
        f"{url}/confirmation", json={"outcome": "missed", "reason": "mất điện"}, headers=OPERATOR
    )
    assert second.status == 409
    problem = await second.json()
    assert "already confirmed aired by Y Bơ Êban" in problem["detail"] and "/correction" in problem["detail"]
    # The same record again is a retry, not a change.
    assert (
        await client.post(f"{url}/confirmation", json={"outcome": "aired"}, headers=OPERATOR)
    ).status == 200

    # A correction must say why, and only the resource's operator (or a planner) may make it.
    fix = {"outcome": "missed", "reason": "mất điện cả buổi chiều", "why": "sổ nhật ký ghi nhầm ngày"}
    assert (await client.post(f"{url}/correction", json=fix | {"why": ""}, headers=OPERATOR)).status == 422
    assert (await client.post(f"{url}/correction", json=fix, headers=STRANGER)).status == 403
    corrected = await client.post(
        f"{url}/correction", json=fix, headers=OPERATOR | {"Idempotency-Key": "fix-1"}
    )
    assert corrected.status == 200, await corrected.text()
    assert (await corrected.json())["status"] == "missed"
    again = await client.post(f"{url}/correction", json=fix, headers=OPERATOR | {"Idempotency-Key": "fix-1"})
    assert again.status == 200

    history = await (await client.get(f"{url}/history", headers=VIEWER)).json()
    types = [e["type"] for e in history["items"]]
    assert types == ["schedule.AiringScheduled", "schedule.AiringConfirmed", "schedule.ConfirmationCorrected"]
    scheduled, confirmed, correction = history["items"]
    assert scheduled["actor"] == "Trung tâm Truyền thông BHXH Đắk Lắk" and scheduled["changes"]["title"]
    assert confirmed["actor"] == "Y Bơ Êban" and confirmed["changes"]["outcome"] == "aired"
    assert (
        correction["changes"].items()
        >= {
            "outcome": "missed",
            "previous_outcome": "aired",
            "why": "sổ nhật ký ghi nhầm ngày",
            "corrected_by": "Y Bơ Êban",
        }.items()
    )
    assert correction["correlation_id"] and correction["recorded_at"].endswith("+07:00")
    assert scheduled["position"] < confirmed["position"] < correction["position"]

    # The statistics use the latest record.
    async def missed():
        rows = (
            await (await metrics.get("/v1/stats", params={"resource_id": EA_KAO}, headers=VIEWER)).json()
        )["rows"]
        return rows and rows[0]["airings_missed"] == 1 and rows[0]["airings_aired"] == 0

    await until(missed)

    # A make-up names the missed airing; it is refused for one that was not missed.
    other = await plan(client, 8)
    refused = await client.post(
        "/v1/airings",
        headers=PLANNER,
        json={
            "kind": "loudspeaker",
            "resource_id": EA_KAO,
            "starts_at": "2023-08-09T06:00",
            "duration_minutes": 15,
            "title": "Phát bù",
            "language": "Kinh",
            "makeup_of": other,
        },
    )
    assert refused.status == 422
    assert (await refused.json())["errors"][0]["field"] == "makeup_of"
    makeup = await plan(client, 9, makeup_of=airing, title="Phát bù bản tin ngày 7")
    assert (
        await client.post(f"/v1/airings/{makeup}/confirmation", json={"outcome": "aired"}, headers=OPERATOR)
    ).status == 200
    made_up_history = await (await client.get(f"{url}/history", headers=VIEWER)).json()
    assert made_up_history["items"][-1]["changes"]["made_up_by"] == makeup

    # Reports count the made-up miss once, as made up: not missed, not planned twice.
    async def counted():
        rows = (
            await (await metrics.get("/v1/stats", params={"resource_id": EA_KAO}, headers=VIEWER)).json()
        )["rows"]
        return rows and rows[0]["airings_aired"] == 1 and rows[0]

    row = await until(counted)
    assert (row["airings_planned"], row["airings_missed"], row["airings_made_up"]) == (2, 0, 1)
    report = await (
        await metrics.get("/v1/reports", params={"period": "2023-08", "commune": EA_KAO}, headers=VIEWER)
    ).json()
    totals = report["totals"]
    assert (
        totals["loudspeaker_planned"],
        totals["loudspeaker_airings"],
        totals["loudspeaker_missed"],
        totals["loudspeaker_made_up"],
    ) == (2, 1, 0, 1)
    # A made-up miss stays missed.
    back = await client.post(f"{url}/correction", headers=OPERATOR, json={"outcome": "aired", "why": "nhầm"})
    assert back.status == 409


async def test_a_past_livestream_is_recorded_as_it_happened(client):
    page = "page:facebook:bhxh-cr"
    await register(
        client, page, {"type": "page", "name": "Fanpage BHXH", "province": "dak-lak", "platform": "facebook"}
    )
    operator = bearer("operator", sub="Quản trị fanpage", resources=[page])
    body = {
        "kind": "livestream",
        "resource_id": page,
        "starts_at": "2023-08-25T20:00",
        "duration_minutes": 60,
        "title": "Livestream: BHYT học sinh, sinh viên",
    }
    airing = (await (await client.post("/v1/airings", json=body, headers=PLANNER)).json())["airing_id"]
    url = f"/v1/airings/{airing}"

    async def refused(verb, at, field="at"):
        response = await client.post(f"{url}/{verb}", json={"at": at}, headers=operator)
        assert response.status == 422, await response.text()
        assert (await response.json())["errors"][0]["field"] == field

    await refused("live", "2023-08-26T20:00")  # another day
    await refused("live", "2099-08-25T20:00")  # the future
    live = await client.post(f"{url}/live", json={"at": "2023-08-25T20:02"}, headers=operator)
    assert live.status == 200, await live.text()
    assert (await live.json())["actual_start"] == "2023-08-25T20:02:00+07:00"
    await refused("end", "2023-08-25T19:00")  # before it went live
    ended = await client.post(f"{url}/end", json={"at": "2023-08-25T21:05"}, headers=operator)
    assert ended.status == 200, await ended.text()
    view = await ended.json()
    assert (view["status"], view["actual_end"]) == ("ended", "2023-08-25T21:05:00+07:00")
    # Today's clock on a livestream of 2023 is not how it happened.
    other = (
        await (
            await client.post("/v1/airings", json=body | {"starts_at": "2023-08-26T20:00"}, headers=PLANNER)
        ).json()
    )["airing_id"]
    response = await client.post(f"/v1/airings/{other}/live", json={}, headers=operator)
    assert response.status == 422


async def test_the_history_of_a_series_and_of_a_campaign(client):
    await register(client, EA_KAO, commune("Xã Ea Kao", ["Kinh"], code="24955"))
    body = {
        "resource_id": EA_KAO,
        "kind": "loudspeaker",
        "rule": "FREQ=WEEKLY;BYDAY=MO;COUNT=4",
        "first_start": "2023-08-07T17:00",
        "duration_minutes": 15,
        "title": "Luật BHXH năm 2024",
        "language": "Kinh",
    }
    created = await client.post("/v1/series", json=body, headers=PLANNER)
    assert created.status == 201, await created.text()
    series_id = (await created.json())["series_id"]
    history = await (await client.get(f"/v1/series/{series_id}/history", headers=VIEWER)).json()
    types = [e["type"] for e in history["items"]]
    assert types[0] == "schedule.SeriesPlanned" and types.count("schedule.AiringScheduled") == 4
    assert history["items"][0]["actor"] == "Trung tâm Truyền thông BHXH Đắk Lắk"
    assert all(e["changes"]["airing"] for e in history["items"] if e["type"] == "schedule.AiringScheduled")

    campaign = {
        "name": "BHYT học sinh, sinh viên",
        "province": "dak-lak",
        "starts_on": "2023-08-01",
        "ends_on": "2023-08-31",
        "communes": [EA_KAO],
        "targets": {"airings_per_commune": 4},
    }
    made = await (await client.post("/v1/campaigns", json=campaign, headers=PLANNER)).json()
    changed = await client.put(
        f"/v1/campaigns/{made['campaign_id']}", headers=PLANNER, json=campaign | {"ends_on": "2023-09-15"}
    )
    assert changed.status == 200, await changed.text()
    history = await (await client.get(f"/v1/campaigns/{made['campaign_id']}/history", headers=VIEWER)).json()
    ends = [e["changes"]["definition"]["ends_on"] for e in history["items"]]
    assert ends == ["2023-08-31", "2023-09-15"]
    missing = await client.get("/v1/campaigns/00000000-0000-4000-8000-000000000000/history", headers=VIEWER)
    assert missing.status == 404
