"""Lists that scale: keyset pages followed through ``Link: rel="next"`` give every item once, in
order, with the filters the planners use (real PostgreSQL and RabbitMQ)."""

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.common.settings import Settings
from services.metrics.bootstrap import create_app as create_metrics
from tests.integration.pg import unique_schema
from tests.integration.scheduler_api import (
    EA_TU,
    HOA_THANG,
    PLANNER,
    SECRET,
    VIEWER,
    bearer,
    client,
    commune,
    events_seen,
    register,
)

__all__ = ["client", "events_seen"]  # fixtures
MUONG_PHANG = "loudspeaker:xa-muong-phang"
DIEN_BIEN_PLANNER = bearer("planner", sub="Trung tâm Truyền thông BHXH Điện Biên", province="dien-bien")


async def walk(client, path, params, headers=VIEWER):
    """Every page from the first, following the Link header; the pages' items and bodies."""
    pages, url, query = [], path, params
    while True:
        response = await client.get(url, params=query, headers=headers)
        assert response.status == 200, await response.text()
        body = await response.json()
        pages.append(body)
        link = response.headers.get("Link")
        assert (link is None) == (body["next_cursor"] is None)
        if link is None:
            return pages
        assert link.endswith('>; rel="next"') and link.startswith("<")
        url, query = link[1:-13], None
        assert len(pages) < 200  # bounded


async def plan_august(client):
    created = await client.post(
        "/v1/campaigns",
        json={"name": "BHYT học sinh, sinh viên", "province": "dak-lak", "starts_on": "2023-08-01",
              "ends_on": "2023-08-31", "communes": [EA_TU, HOA_THANG]},
        headers=PLANNER,
    )  # fmt: skip
    assert created.status == 201, await created.text()
    campaign = await created.json()
    fan_out = {
        "title": "Bản tin BHYT học sinh, sinh viên",
        "campaign_id": campaign["campaign_id"],
        "rule": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "from_date": "2023-08-01",
        "to_date": "2023-08-31",
        "window": 2,
        "duration_minutes": 15,
        "gap_minutes": 5,
        "script": "Kính thưa bà con",
    }
    planned = await client.post("/v1/fan-outs", json=fan_out, headers=PLANNER | {"Idempotency-Key": "pg-1"})
    assert planned.status == 201, await planned.text()
    # 13 Mondays, Wednesdays and Fridays: Ea Tu in Kinh and Êđê, Hòa Thắng in Kinh
    assert (await planned.json())["planned"] == 39
    await register(client, MUONG_PHANG, commune("Xã Mường Phăng", ["Kinh"], province="dien-bien"),
                   headers=DIEN_BIEN_PLANNER)  # fmt: skip
    other = await client.post(
        "/v1/airings",
        json={"kind": "loudspeaker", "resource_id": MUONG_PHANG, "starts_at": "2023-08-02T17:00",
              "duration_minutes": 15, "title": "Bản tin Điện Biên", "language": "Kinh"},
        headers=DIEN_BIEN_PLANNER,
    )  # fmt: skip
    assert other.status == 201, await other.text()
    return campaign["campaign_id"]


async def test_airing_pages_give_every_airing_once_in_order(client):
    campaign_id = await plan_august(client)
    everything = (await (await client.get("/v1/airings", params={"limit": 1000}, headers=VIEWER)).json())[
        "items"
    ]
    assert len(everything) == 40

    pages = await walk(client, "/v1/airings", {"limit": 7})
    assert [len(p["items"]) for p in pages] == [7] * 5 + [5]
    walked = [a["airing_id"] for p in pages for a in p["items"]]
    assert walked == [a["airing_id"] for a in everything]  # same order, none twice, none left out
    starts = [(a["starts_at"], a["airing_id"]) for a in everything]
    assert starts == sorted(starts)
    assert all(p["total"] is None for p in pages)  # totals only when asked

    newest = await walk(client, "/v1/airings", {"limit": 9, "sort": "-starts_at"})
    assert [a["airing_id"] for p in newest for a in p["items"]] == walked[::-1]

    counted = await walk(client, "/v1/airings", {"limit": 10, "province": "dak-lak", "total": "true"})
    assert {p["total"] for p in counted} == {39}
    assert sum(len(p["items"]) for p in counted) == 39

    async def listed(**filters) -> list[dict]:
        return [a for p in await walk(client, "/v1/airings", {"limit": 4} | filters) for a in p["items"]]

    assert [a["resource_id"] for a in await listed(province="dien-bien")] == [MUONG_PHANG]
    assert {a["resource_id"] for a in await listed(resource_id=HOA_THANG)} == {HOA_THANG}
    assert len(await listed(resource_id=HOA_THANG)) == 13
    assert len(await listed(language="Êđê")) == 13
    assert len(await listed(campaign_id=campaign_id)) == 39
    assert len(await listed(kind="loudspeaker", **{"from": "2023-08-07", "to": "2023-08-08"})) == 3
    first = next(a for a in everything if a["resource_id"] == EA_TU)
    cancelled = await client.post(
        f"/v1/airings/{first['airing_id']}/cancel", json={"reason": "mất điện"}, headers=PLANNER
    )
    assert cancelled.status == 200, await cancelled.text()
    assert [a["airing_id"] for a in await listed(status="cancelled")] == [first["airing_id"]]

    # The old offset still answers (deprecated), and a wrong cursor is named.
    skipped = await (await client.get("/v1/airings", params={"offset": 35}, headers=VIEWER)).json()
    assert [a["airing_id"] for a in skipped["items"]] == walked[35:]
    for bad in ({"cursor": "not-ours"}, {"cursor": "W10", "limit": 5}, {"cursor": pages[0]["next_cursor"],
                                                                         "offset": 3}):  # fmt: skip
        refused = await client.get("/v1/airings", params=bad, headers=VIEWER)
        assert refused.status == 422
        assert (await refused.json())["errors"][0]["field"] in ("cursor", "offset")


async def test_resources_campaigns_and_history_pages(client):
    await plan_august(client)
    resources = await walk(client, "/v1/resources", {"limit": 1})
    assert [r["resource_id"] for p in resources for r in p["items"]] == sorted(
        [EA_TU, HOA_THANG, MUONG_PHANG]
    )
    in_dak_lak = await walk(client, "/v1/resources", {"limit": 1, "province": "dak-lak", "total": "true"})
    assert len(in_dak_lak) == 2 and {p["total"] for p in in_dak_lak} == {2}

    for name, day in (
        ("Tháng 9", "2023-09-01"),
        ("Tháng 7", "2023-07-01"),
        ("Ấn phẩm tháng 9", "2023-09-01"),
    ):
        made = await client.post(
            "/v1/campaigns",
            json={"name": name, "province": "dak-lak", "starts_on": day, "ends_on": day},
            headers=PLANNER,
        )
        assert made.status == 201, await made.text()
    campaigns = await walk(client, "/v1/campaigns", {"limit": 1})
    listed = [(c["starts_on"], c["name"]) for p in campaigns for c in p["items"]]
    assert len(listed) == 4 and len(set(listed)) == 4
    assert [d for d, _ in listed] == ["2023-09-01", "2023-09-01", "2023-08-01", "2023-07-01"]  # newest first

    airing = (
        await (
            await client.get("/v1/airings", params={"limit": 1, "resource_id": EA_TU}, headers=VIEWER)
        ).json()
    )["items"][0]
    for reason in ("mất điện", "đổi giờ"):
        moved = await client.post(
            f"/v1/airings/{airing['airing_id']}/reschedule",
            json={"starts_at": "2023-08-01T05:00" if reason == "mất điện" else "2023-08-01T05:05",
                  "reason": reason},
            headers=PLANNER,
        )  # fmt: skip
        assert moved.status == 200, await moved.text()
    history = await walk(client, f"/v1/airings/{airing['airing_id']}/history", {"limit": 2})
    entries = [e for p in history for e in p["items"]]
    assert [len(p["items"]) for p in history] == [2, 1]
    assert [e["type"] for e in entries] == [
        "schedule.AiringScheduled", "schedule.AiringRescheduled", "schedule.AiringRescheduled"
    ]  # fmt: skip
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions) and len(set(positions)) == 3


@pytest.fixture
async def metrics(pg_dsn, amqp_url, client):
    app = create_metrics(Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET),
                         schema=unique_schema("metrics"))  # fmt: skip
    async with TestClient(TestServer(app)) as metrics:
        yield metrics


async def test_stats_groups_come_in_pages(client, metrics):
    await plan_august(client)
    params = {"group_by": "resource,language"}
    async with asyncio.timeout(30):  # the scheduler's events reach the metrics service over RabbitMQ
        while True:
            rows = (await (await metrics.get("/v1/stats", params=params, headers=VIEWER)).json())["rows"]
            if sum(r["airings_planned"] for r in rows) == 40:
                break
            await asyncio.sleep(0.1)
    assert [tuple(r["keys"].values()) for r in rows] == [
        (EA_TU, "Êđê"), (EA_TU, "Kinh"), (HOA_THANG, "Kinh"), (MUONG_PHANG, "Kinh")
    ]  # fmt: skip
    pages = await walk(metrics, "/v1/stats", params | {"limit": 3, "total": "true"})
    assert [len(p["rows"]) for p in pages] == [3, 1] and {p["total"] for p in pages} == {4}
    assert [r for p in pages for r in p["rows"]] == rows
    other = params | {"cursor": pages[0]["next_cursor"], "group_by": "kind"}
    stale = await metrics.get("/v1/stats", params=other, headers=VIEWER)
    assert stale.status == 422 and (await stale.json())["errors"][0]["field"] == "cursor"
