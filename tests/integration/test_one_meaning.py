"""One meaning for every number: the report, /v1/stats, campaign progress and the dashboard's
figures agree on one month holding every status and every kind (real PostgreSQL and RabbitMQ)."""

from __future__ import annotations

import asyncio
from collections import Counter

import orjson
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
# Resources of this test's own, registered once the metrics service listens (it hears of them by the bus).
EA_TU, HOA_THANG = "loudspeaker:xa-ea-tu-1m", "loudspeaker:xa-hoa-thang-1m"
FANPAGE, ZALO, RADIO = "page:facebook:bhxh-dl-1m", "page:zalo:bhxh-dl-1m", "radio:dak-lak:gio-thu-9-1m"
OPERATOR = bearer("operator", sub="Y Bơ Êban", resources=[EA_TU, HOA_THANG, FANPAGE, ZALO, RADIO])
COLLECTOR = bearer("collector", sub="Facebook Graph collector")
MONTH = {"from": "2023-08-01", "to": "2023-09-01", "province": "dak-lak"}


@pytest.fixture
async def metrics(pg_dsn, amqp_url, client):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    app = create_metrics(settings, schema=unique_schema("metrics"))
    async with TestClient(TestServer(app)) as metrics:
        yield metrics


async def ok(response, status=(200, 201)):
    assert response.status in status, await response.text()
    return await response.json()


async def plan_a_month(client, metrics) -> tuple[str, dict[str, str]]:
    """A campaign in August 2023 with an airing in every status, of every kind; returns its id
    and the posts' ids."""
    await register(client, EA_TU, commune("Xã Ea Tu", ["Kinh", "Êđê"], code="24133"))
    await register(client, HOA_THANG, commune("Xã Hòa Thắng", ["Kinh"], code="24136"))
    await register(
        client,
        FANPAGE,
        {"type": "page", "name": "Fanpage BHXH", "province": "dak-lak", "platform": "facebook"},
    )
    await register(
        client, ZALO, {"type": "page", "name": "Zalo BHXH", "province": "dak-lak", "platform": "zalo"}
    )
    await register(
        client,
        RADIO,
        {
            "type": "programme",
            "name": "Giờ thứ 9",
            "province": "dak-lak",
            "station": "Đài PT-TH Đắk Lắk",
            "columns": ["Câu chuyện chính sách"],
            "slots": [{"rule": "FREQ=DAILY", "start": "21:00", "duration_minutes": 15}],
        },
    )
    campaign = await ok(
        await client.post(
            "/v1/campaigns",
            headers=PLANNER,
            json={
                "name": "Một nghĩa cho mỗi con số",
                "province": "dak-lak",
                "starts_on": "2023-08-01",
                "ends_on": "2023-08-31",
                "communes": [EA_TU, HOA_THANG],
                "targets": {"airings_per_commune": 4},
            },
        )
    )
    campaign_id = campaign["campaign_id"]

    async def airing(kind, resource, day, hour="17:00", **extra):
        body = {
            "kind": kind,
            "resource_id": resource,
            "starts_at": f"2023-08-{day:02d}T{hour}",
            "duration_minutes": 15,
            "title": f"{kind} {day}",
            "campaign_id": campaign_id,
        } | extra
        return (await ok(await client.post("/v1/airings", json=body, headers=PLANNER)))["airing_id"]

    async def act(airing_id, verb, body=None, headers=OPERATOR):
        await ok(await client.post(f"/v1/airings/{airing_id}/{verb}", json=body or {}, headers=headers))

    confirm = {
        "aired": {"outcome": "aired"},
        "partial": {"outcome": "partial", "reason": "mất điện giữa chừng"},
        "missed": {"outcome": "missed", "reason": "mất điện cả buổi chiều"},
    }
    for day, outcome in ((1, "aired"), (2, "partial"), (3, "missed"), (4, None)):
        for resource, language in ((EA_TU, "Kinh"), (EA_TU, "Êđê"), (HOA_THANG, "Kinh")):
            hour = "17:00" if language == "Kinh" else "17:30"
            a = await airing("loudspeaker", resource, day, hour, language=language)
            if outcome and not (resource == HOA_THANG and outcome == "partial"):
                await act(a, "confirmation", confirm[outcome])
            if (resource, language, outcome) == (EA_TU, "Kinh", "missed"):
                missed_kinh = a
    moved = await airing("loudspeaker", EA_TU, 5, language="Kinh")
    await act(moved, "reschedule", {"starts_at": "2023-08-05T18:00"}, PLANNER)
    await act(await airing("loudspeaker", EA_TU, 6, language="Kinh"), "cancel", {}, PLANNER)
    await airing("loudspeaker", EA_TU, 7, language="Kinh")
    emergency = await airing("loudspeaker", EA_TU, 7, language="Kinh", priority="emergency", title="Bão số 3")
    await act(emergency, "confirmation", confirm["aired"])
    # The missed Kinh bulletin of the 3rd is made up on the 8th: counted once, as made up.
    makeup = await airing("loudspeaker", EA_TU, 8, language="Kinh", makeup_of=missed_kinh)
    await act(makeup, "confirmation", confirm["aired"])
    for day, outcome in ((1, "aired"), (2, "partial"), (3, "missed"), (4, None)):
        a = await airing("radio", RADIO, day, "21:00")
        if outcome:
            await act(a, "confirmation", confirm[outcome])
    ended, live = (
        await airing("livestream", FANPAGE, 10, "20:00"),
        await airing("livestream", FANPAGE, 11, "20:00"),
    )
    # Recorded after the fact, with the real times (the server's clock is years later).
    await act(ended, "live", {"at": "2023-08-10T20:02"})
    await act(ended, "end", {"at": "2023-08-10T21:05"})
    await act(live, "live", {"at": "2023-08-11T20:00"})
    await airing("livestream", FANPAGE, 12, "20:00")
    await act(await airing("livestream", FANPAGE, 13, "20:00"), "cancel", {}, PLANNER)
    posts = {
        "confirmed": await airing("post", FANPAGE, 10, "08:00"),
        "sampled": await airing("post", FANPAGE, 11, "08:00"),
        "unpublished": await airing("post", FANPAGE, 12, "08:00"),
        "cancelled": await airing("post", FANPAGE, 13, "08:00"),
        "zalo": await airing("post", ZALO, 10, "08:00"),
    }
    await act(posts["confirmed"], "confirmation", confirm["aired"])
    await act(posts["cancelled"], "cancel", {}, PLANNER)
    return campaign_id, posts | {"ended": ended}


async def until(check, timeout=20.0):
    async with asyncio.timeout(timeout):
        # Polling: the metrics service hears of the scheduler's events through RabbitMQ.
        while not (result := await check()):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return result


async def test_report_stats_progress_and_dashboard_agree(client, metrics):
    campaign_id, ids = await plan_a_month(client, metrics)
    progress = await ok(await client.get(f"/v1/campaigns/{campaign_id}/progress", headers=VIEWER))

    async def stats(**q):
        return (await ok(await metrics.get("/v1/stats", params=MONTH | q, headers=VIEWER)))["rows"]

    listed = await ok(
        await client.get("/v1/airings", params=MONTH | {"limit": 100, "total": "true"}, headers=VIEWER)
    )
    statuses = Counter(a["status"] for a in listed["items"])
    assert listed["total"] == 30 and len(statuses) == 9  # every status there is

    async def caught_up():  # the metrics service hears of everything through RabbitMQ
        rows = await stats(group_by="status")
        return {
            r["keys"]["status"]: r["airings_planned"]
            + r["airings_cancelled"]
            + r["airings_bumped"]
            + r["airings_made_up"]
            for r in rows
        } == statuses

    await until(caught_up)
    samples = [
        {"airing_id": ids[k], "sampled_at": "2023-08-12T09:00", "counters": {"reach": 100, "views": 10}}
        for k in ("sampled", "cancelled", "zalo")
    ] + [{"airing_id": ids["ended"], "sampled_at": "2023-08-10T21:00", "counters": {"views": 1700}}]
    await ok(await metrics.post("/v1/samples", json={"items": samples}, headers=COLLECTOR))

    report = orjson.loads(
        await (
            await metrics.get(
                "/v1/reports/monthly", params={"province": "dak-lak", "month": "2023-08"}, headers=VIEWER
            )
        ).read()
    )
    by_kind = {r["keys"]["kind"]: r for r in await stats(group_by="kind")}

    # Loudspeakers: 12 + moved + emergency + make-up planned (bumped, cancelled and the made-up miss
    # left out); aired: 3 + 2 partly + the emergency + the make-up; one miss made up, two missed.
    speakers, t = by_kind["loudspeaker"], report["totals"]
    expected = {"planned": 14, "aired": 3 + 2 + 1 + 1, "missed": 2, "partial": 2, "made_up": 1}
    assert {k: speakers[f"airings_{k}"] for k in expected} == expected
    assert (t["loudspeaker_planned"], t["loudspeaker_airings"], t["loudspeaker_missed"]) == (14, 7, 2)
    assert t["loudspeaker_made_up"] == 1
    assert {k: progress["by_kind"]["loudspeaker"][k] for k in expected} == expected
    assert (speakers["airings_bumped"], speakers["airings_cancelled"]) == (1, 1)
    assert progress["by_kind"]["loudspeaker"]["bumped"] == 1
    # Communes reached: both, by a partly aired bulletin as well.
    assert speakers["communes_reached"] == t["communes_reached"] == progress["communes_reached"] == 2
    by_language = {line["label"]: line["values"]["aired"] for line in report["loudspeaker_by_language"]}
    stats_language = {
        r["keys"]["language"]: r["airings_aired"]
        for r in await stats(group_by="language", kind="loudspeaker")
    }
    assert (
        by_language
        == stats_language
        == {k: v["aired"] for k, v in progress["by_language"].items() if k != "—"}
        == {"Kinh": 5, "Êđê": 2}
    )

    # Radio: aired + partial aired, one missed, four planned.
    radio, [programme] = by_kind["radio"], report["radio"]
    assert (radio["airings_planned"], radio["airings_aired"], radio["airings_missed"]) == (4, 2, 1)
    assert programme["values"] == {"planned": 4, "aired": 2, "missed": 1}
    assert {k: progress["by_kind"]["radio"][k] for k in ("planned", "aired", "missed")} == {
        "planned": 4,
        "aired": 2,
        "missed": 1,
    }

    # Livestreams: the ended one aired; the live one and the scheduled one are planned.
    live = by_kind["livestream"]
    assert (
        (live["airings_planned"], live["airings_aired"])
        == (3, 1)
        == (progress["by_kind"]["livestream"]["planned"], progress["by_kind"]["livestream"]["aired"])
    )
    assert t["livestreams"] == 1

    # Posts: published when confirmed or sampled, the same in the report and the dashboard's table.
    pages = {line["label"]: line["values"] for line in report["pages"]}
    dashboard = {r["keys"]["platform"]: r for r in await stats(group_by="platform", kind="post")}
    assert pages["Fanpage BHXH"]["posts"] == dashboard["facebook"]["airings_aired"] == 2
    assert pages["Zalo BHXH"]["posts"] == dashboard["zalo"]["airings_aired"] == 1
    assert t["posts"] == by_kind["post"]["airings_aired"] == 3

    # The dashboard's tiles are /v1/stats for the loudspeakers: the same as the report's.
    [tile] = await stats(kind="loudspeaker")
    assert (tile["airings_aired"], tile["airings_planned"], tile["communes_reached"]) == (7, 14, 2)
