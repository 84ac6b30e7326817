"""Reports for any period: a year in three languages as one table by language and month, platforms
apart, quarters and ranges, Vietnamese labels, the same bytes for the same log (real servers)."""

from __future__ import annotations

import asyncio
from io import BytesIO

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

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
BUON, EA_NA = "loudspeaker:xa-buon-tria-rp", "loudspeaker:xa-ea-na-rp"
FANPAGE, ZALO = "page:facebook:bhxh-rp", "page:zalo:bhxh-rp"
OPERATOR = bearer("operator", sub="H'Linh Niê", resources=[BUON, EA_NA, FANPAGE, ZALO])
COLLECTOR = bearer("collector", sub="collector")


@pytest.fixture
async def metrics(pg_dsn, amqp_url, client):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    async with TestClient(TestServer(create_metrics(settings, schema=unique_schema("metrics")))) as metrics:
        yield metrics


async def ok(response, status=(200, 201)):
    assert response.status in status, await response.text()
    return response


async def a_year(client, metrics) -> None:
    """2022: a bulletin on the 1st of every month in Buôn Triă (Kinh, Êđê, M'nông) and Ea Na (Kinh);
    a post on Facebook and one on Zalo."""
    await register(client, BUON, commune("Xã Buôn Triă", ["Kinh", "Êđê", "M'nông"], code="24901"))
    await register(client, EA_NA, commune("Xã Ea Na", ["Kinh"], code="24902"))
    await register(
        client,
        FANPAGE,
        {"type": "page", "name": "Fanpage BHXH", "province": "dak-lak", "platform": "facebook"},
    )
    await register(
        client, ZALO, {"type": "page", "name": "Zalo BHXH", "province": "dak-lak", "platform": "zalo"}
    )
    await ok(
        await client.post(
            "/v1/fan-outs",
            headers=PLANNER,
            json={
                "title": "Bản tin BHXH tự nguyện",
                "communes": [BUON, EA_NA],
                "rule": "FREQ=MONTHLY;BYMONTHDAY=1",
                "from_date": "2022-01-01",
                "to_date": "2022-12-31",
                "duration_minutes": 15,
                "gap_minutes": 5,
            },
        )
    )
    listed = await (
        await client.get(
            "/v1/airings",
            params={"from": "2022-01-01", "to": "2023-01-01", "limit": 100, "total": "true"},
            headers=VIEWER,
        )
    ).json()
    assert listed["total"] == 48
    outcome = {
        ("01", "Kinh"): "aired",
        ("01", "Êđê"): "partial",
        ("03", "M'nông"): "missed",
        ("12", "Kinh"): "aired",
        ("07", "Êđê"): "aired",
    }
    for a in listed["items"]:
        key = (a["starts_at"][5:7], a["language"])
        if a["resource_id"] == BUON and key in outcome:
            body = {"outcome": outcome[key], "reason": "mất điện" if outcome[key] != "aired" else None}
            await ok(
                await client.post(f"/v1/airings/{a['airing_id']}/confirmation", json=body, headers=OPERATOR)
            )
    posts = []
    for page, day in ((FANPAGE, "2022-05-10"), (ZALO, "2022-05-11")):
        body = {
            "kind": "post",
            "resource_id": page,
            "starts_at": f"{day}T08:00",
            "duration_minutes": 1,
            "title": "Tin BHXH",
        }
        posts.append(await (await ok(await client.post("/v1/airings", json=body, headers=PLANNER))).json())

    async def heard():
        r = await metrics.get(f"/v1/airings/{posts[-1]['airing_id']}/metrics", headers=VIEWER)
        return r.status == 200

    await until(heard)
    samples = [
        {
            "airing_id": posts[0]["airing_id"],
            "sampled_at": "2022-05-12T08:00",
            "counters": {"reach": 21500, "interactions": 1976, "views": 300},
        },
        {
            "airing_id": posts[1]["airing_id"],
            "sampled_at": "2022-05-12T08:00",
            "counters": {"views": 882, "shares": 80},
        },
    ]
    await ok(await metrics.post("/v1/samples", json={"items": samples}, headers=COLLECTOR))


async def until(check, timeout=20.0):
    async with asyncio.timeout(timeout):
        # Polling: the metrics service hears of the scheduler's events through RabbitMQ.
        while not (result := await check()):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return result


async def report(metrics, **params):
    response = await ok(await metrics.get("/v1/reports", params=params, headers=VIEWER))
    return response, await response.read()


async def test_a_year_by_language_and_month_with_platforms_apart(client, metrics):
    await a_year(client, metrics)

    async def complete():
        _, body = await report(metrics, period="2022", province="dak-lak")
        data = orjson.loads(body)
        done = (
            data["totals"]["loudspeaker_airings"],
            data["totals"]["loudspeaker_planned"],
            len(data["platforms"]),
        )
        return data if done == (4, 48, 2) else None

    data = await until(complete)
    assert data["title"] == "Báo cáo công tác truyền thông năm 2022 — Đắk Lắk"
    assert (data["starts_on"], data["ends_on"]) == ("2022-01-01", "2022-12-31")
    table = {line["label"]: line["values"] for line in data["by_language_and_month"]}
    assert list(table) == ["Êđê", "Kinh", "M'nông"]  # Vietnamese order
    assert list(table["Kinh"]) == [f"2022-{m:02d}" for m in range(1, 13)] + ["total"]
    assert (table["Kinh"]["2022-01"], table["Kinh"]["2022-12"], table["Kinh"]["total"]) == (1, 1, 2)
    assert (table["Êđê"]["2022-01"], table["Êđê"]["2022-07"], table["Êđê"]["total"]) == (1, 1, 2)
    assert table["M'nông"]["total"] == 0
    t = data["totals"]
    assert (t["loudspeaker_planned"], t["loudspeaker_airings"], t["loudspeaker_partial"]) == (48, 4, 1)
    assert (t["loudspeaker_missed"], t["communes_reached"], t["posts"]) == (1, 1, 2)
    assert not {"views", "reach", "shares"} & set(t)  # no figure added across platforms
    platforms = {line["label"]: line["values"] for line in data["platforms"]}
    assert platforms["Facebook"] == {
        "items": 1,
        "posts": 1,
        "livestreams": 0,
        "reach": 21500,
        "views": 300,
        "interactions": 1976,
        "shares": 0,
        "comments": 0,
    }
    assert (platforms["Zalo"]["items"], platforms["Zalo"]["views"], platforms["Zalo"]["shares"]) == (
        1,
        882,
        80,
    )

    # A quarter, a range, a commune, a language, a platform.
    _, body = await report(metrics, period="2022-Q1", province="dak-lak")
    quarter = orjson.loads(body)
    assert list(quarter["by_language_and_month"][1]["values"]) == ["2022-01", "2022-02", "2022-03", "total"]
    assert (
        quarter["title"].endswith("quý I/2022 — Đắk Lắk") and quarter["totals"]["loudspeaker_planned"] == 12
    )
    _, body = await report(metrics, **{"from": "2022-06-15", "to": "2022-07-01", "province": "dak-lak"})
    assert orjson.loads(body)["totals"]["loudspeaker_airings"] == 1
    _, body = await report(metrics, period="2022", commune=EA_NA, language="Kinh")
    assert orjson.loads(body)["totals"]["loudspeaker_planned"] == 12
    _, body = await report(metrics, period="2022", platform="zalo")
    assert [line["label"] for line in orjson.loads(body)["platforms"]] == ["Zalo"]

    # Vietnamese labels and numbers; the same log, the same bytes.
    response, csv_body = await report(metrics, period="2022", province="dak-lak", format="csv")
    position = response.headers["Loa-As-Of-Position"]
    text = csv_body.decode("utf-8-sig")
    assert (
        "Ngôn ngữ,Tháng 1/2022,Tháng 2/2022" in text
        and "21.500" in text
        and "Lượt phát loa đã phát,4" in text
    )
    _, xlsx = await report(metrics, period="2022", province="dak-lak", format="xlsx", as_of=position)
    book = load_workbook(BytesIO(xlsx))
    assert book["Loa theo ngôn ngữ và tháng"]["B1"].value == "Tháng 1/2022"
    assert (await report(metrics, period="2022", province="dak-lak", format="xlsx", as_of=position))[
        1
    ] == xlsx
    assert (await report(metrics, period="2022", province="dak-lak", format="csv", as_of=position))[
        1
    ] == csv_body


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "1999"}, "period"),
        ({"period": "2101"}, "period"),
        ({"period": "2023-13"}, "period"),
        ({"from": "2023-09-01", "to": "2023-08-01"}, "to"),
        ({"from": "2023-08-01"}, "to"),
        ({"period": "2023", "format": "pdf"}, "format"),
        ({"period": "2023", "platform": "myspace"}, "platform"),
    ],
)
async def test_a_bad_period_is_a_422_naming_the_field(client, metrics, params, field):
    response = await metrics.get("/v1/reports", params=params, headers=VIEWER)
    assert response.status == 422
    problem = await response.json()
    assert problem["errors"][0]["field"] == field
