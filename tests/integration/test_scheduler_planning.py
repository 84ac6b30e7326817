"""Planning over HTTP: reference data, campaigns, fan-outs, series, progress (real PostgreSQL, RabbitMQ)."""

import asyncio
from datetime import UTC, datetime, timedelta

from contracts.localtime import VIETNAM
from tests.integration.scheduler_api import (
    EA_TU,
    HOA_THANG,
    OPERATOR,
    PLANNER,
    VIEWER,
    bearer,
    client,
    commune,
    events_seen,
    register,
)
from tests.polling import eventually

__all__ = ["client", "events_seen"]  # fixtures
KRONG_NO = "loudspeaker:xa-krong-no"
GIO_THU_9 = "radio:dak-lak:gio-thu-9"
FANPAGE = "page:facebook:bhxh-dak-lak"
DIEN_BIEN_PLANNER = bearer("planner", sub="Trung tâm Truyền thông BHXH Điện Biên", province="dien-bien")


async def test_reference_data_is_listed_by_province_and_type(client):
    await register(
        client,
        GIO_THU_9,
        {
            "type": "programme",
            "name": "Giờ thứ 9",
            "province": "dak-lak",
            "station": "Đài Phát thanh - Truyền hình Đắk Lắk",
            "slots": [{"rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "start": "21:00", "duration_minutes": 15}],
            "columns": ["Câu chuyện chính sách"],
        },
    )
    await register(
        client,
        FANPAGE,
        {"type": "page", "name": "Fanpage BHXH Đắk Lắk", "province": "dak-lak", "platform": "facebook"},
    )
    listed = await (await client.get("/v1/resources", params={"type": "commune"}, headers=VIEWER)).json()
    assert [r["resource_id"] for r in listed["items"]] == [EA_TU, HOA_THANG]
    one = await (await client.get(f"/v1/resources/{GIO_THU_9}", headers=VIEWER)).json()
    assert one["columns"] == ["Câu chuyện chính sách"]
    # A planner of another province may not touch Đắk Lắk's resources; a commune needs its languages.
    other = await client.put(
        f"/v1/resources/{EA_TU}", json=commune("Xã Ea Tu", ["Kinh"]), headers=DIEN_BIEN_PLANNER
    )
    assert other.status == 403
    bad = await client.put("/v1/resources/loudspeaker:x", json=commune("X", []), headers=PLANNER)
    assert bad.status == 422
    wrong_kind = await client.post(
        "/v1/airings",
        json={"kind": "radio", "resource_id": EA_TU, "starts_at": "2023-08-07T17:30", "duration_minutes": 15,
              "title": "Sai loại"},
        headers=PLANNER,
    )  # fmt: skip
    assert wrong_kind.status == 422 and (await wrong_kind.json())["errors"][0]["field"] == "kind"
    unknown = await client.post(
        "/v1/airings",
        json={"kind": "loudspeaker", "resource_id": "loudspeaker:nowhere", "starts_at": "2023-08-07T17:30",
              "duration_minutes": 15, "title": "Không có"},
        headers=PLANNER,
    )  # fmt: skip
    assert unknown.status == 422 and (await unknown.json())["errors"][0]["field"] == "resource_id"
    elsewhere = await client.post(
        "/v1/airings",
        json={"kind": "loudspeaker", "resource_id": EA_TU, "starts_at": "2023-08-07T17:30",
              "duration_minutes": 15, "title": "Điện Biên"},
        headers=DIEN_BIEN_PLANNER,
    )  # fmt: skip
    assert elsewhere.status == 403


async def test_a_campaign_fanned_out_to_its_communes_and_its_progress(client, events_seen):
    await register(client, KRONG_NO, commune("Xã Krông Nô", ["Kinh", "Êđê", "M'nông"]))
    created = await client.post(
        "/v1/campaigns",
        json={
            "name": "BHYT học sinh, sinh viên",
            "topic": "BHYT học sinh, sinh viên năm học 2023-2024",
            "province": "dak-lak",
            "starts_on": "2023-08-01",
            "ends_on": "2023-08-31",
            "communes": [EA_TU, HOA_THANG, KRONG_NO],
            "targets": {"airings_per_commune": 13},
        },
        headers=PLANNER | {"Idempotency-Key": "campaign-bhyt-hssv-2023"},
    )
    assert created.status == 201, await created.text()
    campaign = await created.json()
    not_a_commune = await client.post(
        "/v1/campaigns",
        json={"name": "X", "province": "dak-lak", "starts_on": "2023-08-01", "ends_on": "2023-08-31",
              "communes": ["loudspeaker:nowhere"]},
        headers=PLANNER,
    )  # fmt: skip
    assert not_a_commune.status == 422
    assert (await not_a_commune.json())["errors"][0]["field"] == "communes[0]"

    fan_out = {
        "title": "Bản tin BHYT học sinh, sinh viên",
        "campaign_id": campaign["campaign_id"],
        "rule": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "from_date": "2023-08-01",
        "to_date": "2023-08-31",
        "window": 2,
        "duration_minutes": 15,
        "gap_minutes": 5,
        "scripts": {"Êđê": "Bản tin tiếng Êđê", "M'nông": "Bản tin tiếng M'nông"},
        "script": "Kính thưa bà con",
    }
    key = PLANNER | {"Idempotency-Key": "fan-out-bhyt-hssv-2023-08"}
    response = await client.post("/v1/fan-outs", json=fan_out, headers=key)
    assert response.status == 201, await response.text()
    result = await response.json()
    assert result["planned"] == 13 * (2 + 1 + 3) == 78
    assert result["communes"] == 3 and result["skipped"] == []
    replay = await client.post("/v1/fan-outs", json=fan_out, headers=key)
    assert await replay.json() == result
    sheet = await (
        await client.get(
            f"/v1/resources/{KRONG_NO}/run-sheet", params={"date": "2023-08-02"}, headers=OPERATOR
        )
    ).json()
    assert [(i["language"], i["starts_at"][11:16], i["script"]) for i in sheet["items"]] == [
        ("Kinh", "17:00", "Kính thưa bà con"),
        ("Êđê", "17:20", "Bản tin tiếng Êđê"),
        ("M'nông", "17:40", "Bản tin tiếng M'nông"),
    ]

    # A second fan-out into the same windows: refused whole, naming the airings in the way …
    clash = fan_out | {"title": "Bản tin BHXH tự nguyện", "rule": None, "dates": ["2023-08-02"],
                       "from_date": None, "to_date": None}  # fmt: skip
    refused = await client.post("/v1/fan-outs", json=clash, headers=PLANNER)
    assert refused.status == 409
    assert (await refused.json())["conflicts"][0]["title"] == "Bản tin BHYT học sinh, sinh viên"
    # … or, with skip_conflicts, planned where it fits and the rest listed.
    clash["skip_conflicts"] = True
    skipped = await (await client.post("/v1/fan-outs", json=clash, headers=PLANNER)).json()
    assert skipped["planned"] == 0 and len(skipped["skipped"]) == 6

    # Operators confirm; progress counts what aired and what was missed against the target.
    listed = await (
        await client.get(
            "/v1/airings",
            params={"resource_id": EA_TU, "from": "2023-08-02", "to": "2023-08-03"},
            headers=VIEWER,
        )
    ).json()
    kinh, ede = listed["items"]
    for airing, body in (
        (kinh, {"outcome": "aired"}),
        (ede, {"outcome": "missed", "reason": "mất điện"}),
    ):
        confirmed = await client.post(
            f"/v1/airings/{airing['airing_id']}/confirmation", json=body, headers=OPERATOR
        )
        assert confirmed.status == 200, await confirmed.text()
    progress = await (
        await client.get(f"/v1/campaigns/{campaign['campaign_id']}/progress", headers=VIEWER)
    ).json()
    assert progress["target_airings"] == 39
    assert progress["totals"]["planned"] == 78
    assert progress["totals"]["aired"] == 1 and progress["totals"]["missed"] == 1
    assert progress["communes_targeted"] == 3 and progress["communes_reached"] == 1
    assert progress["by_language"]["M'nông"]["planned"] == 13
    ea_tu = next(c for c in progress["by_commune"] if c["resource_id"] == EA_TU)
    assert ea_tu["name"] == "Xã Ea Tu" and ea_tu["aired"] == 1 and ea_tu["target"] == 13

    await eventually(lambda: sum(m.type == "schedule.AiringScheduled" for m in events_seen) >= 78)
    assert "schedule.CampaignPlanned" in {m.type for m in events_seen}


async def test_a_series_is_kept_ahead_and_edited_this_following_and_whole(client):
    today = datetime.now(VIETNAM).date()
    start = datetime.combine(today + timedelta(days=1), datetime.min.time()).replace(hour=17, minute=0)
    created = await client.post(
        "/v1/series",
        json={
            "resource_id": HOA_THANG,
            "kind": "loudspeaker",
            "rule": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
            "first_start": start.isoformat(),
            "duration_minutes": 15,
            "title": "Luật BHXH năm 2024",
            "language": "Kinh",
        },
        headers=PLANNER | {"Idempotency-Key": "series-luat-bhxh-hoa-thang"},
    )
    assert created.status == 201, await created.text()
    series = await created.json()
    assert series["airings"] >= 20  # 60 days ahead, three a week
    horizon = datetime.fromisoformat(series["through"])
    assert horizon - datetime.now(UTC) > timedelta(days=60)

    airings = (
        await (
            await client.get("/v1/airings", params={"resource_id": HOA_THANG, "limit": 1000}, headers=VIEWER)
        ).json()
    )["items"]
    assert {a["series_id"] for a in airings} == {series["series_id"]}
    first, second, third = airings[:3]

    # This airing: move one occurrence by hand.
    moved = await client.post(
        f"/v1/airings/{first['airing_id']}/reschedule",
        json={"starts_at": first["starts_at"][:11] + "18:00"},
        headers=PLANNER,
    )
    assert moved.status == 200, await moved.text()
    # This and following: from the third occurrence on, at 17:30.
    following = await client.post(
        f"/v1/series/{series['series_id']}/revision",
        json={"scope": "following", "occurrence": third["recurrence_id"],
              "first_start": third["recurrence_id"][:11] + "17:30"},
        headers=PLANNER,
    )  # fmt: skip
    assert following.status == 200, await following.text()
    after = (
        await (
            await client.get(
                "/v1/airings",
                params={"resource_id": HOA_THANG, "status": "scheduled", "limit": 1000},
                headers=VIEWER,
            )
        ).json()
    )["items"]
    times = [a["starts_at"][11:16] for a in after]
    assert times[0] == "17:00" and set(times[1:]) == {"17:30"}  # the second kept, the rest moved
    assert after[0]["airing_id"] == second["airing_id"]
    mine = await (await client.get(f"/v1/airings/{first['airing_id']}", headers=VIEWER)).json()
    assert mine["status"] == "rescheduled" and mine["starts_at"][11:16] == "18:00"

    # The whole series: a new title from now on; ending it cancels what is to come.
    whole = await client.post(
        f"/v1/series/{series['series_id']}/revision",
        json={"scope": "all", "title": "Luật BHXH năm 2024 — những điểm mới"},
        headers=PLANNER,
    )
    assert whole.status == 200
    titles = {
        a["title"]
        for a in (
            await (
                await client.get(
                    "/v1/airings", params={"resource_id": HOA_THANG, "status": "scheduled", "limit": 1000},
                    headers=VIEWER,
                )
            ).json()
        )["items"]
    }  # fmt: skip
    assert titles == {"Luật BHXH năm 2024 — những điểm mới"}
    ended = await client.post(f"/v1/series/{series['series_id']}/end", json={"reason": "hết chiến dịch"},
                              headers=PLANNER)  # fmt: skip
    assert ended.status == 200 and (await ended.json())["ended_from"] is not None
    left = await (
        await client.get(
            "/v1/airings",
            params={"resource_id": HOA_THANG, "status": "scheduled", "total": "true"},
            headers=VIEWER,
        )
    ).json()
    assert left["total"] == 0
    bad = await client.post(
        "/v1/series",
        json={"resource_id": HOA_THANG, "kind": "loudspeaker", "rule": "FREQ=SOMETIMES",
              "first_start": start.isoformat(), "duration_minutes": 15, "title": "x"},
        headers=PLANNER,
    )  # fmt: skip
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "rule"


async def test_the_horizon_keeper_fills_ahead_without_anyone_asking(client):
    from services.scheduler.keys import KEEPER

    today = datetime.now(VIETNAM).date()
    created = await client.post(
        "/v1/series",
        json={
            "resource_id": EA_TU,
            "kind": "loudspeaker",
            "rule": "FREQ=DAILY",
            "first_start": f"{today + timedelta(days=1)}T05:30",
            "duration_minutes": 15,
            "title": "Bản tin sáng",
            "language": "Kinh",
        },
        headers=PLANNER,
    )
    series = await created.json()
    keeper = client.app[KEEPER]
    assert await keeper.fill() == 0  # already scheduled to the horizon
    keeper.days += 10  # time passes: the horizon moves on
    assert await keeper.fill() == 1
    assert await keeper.fill() == 0

    for _ in range(100):  # the read model follows the log within moments
        now = await (await client.get(f"/v1/series/{series['series_id']}", headers=VIEWER)).json()
        # The new airings and the series' new horizon may land in two projection batches.
        if now["airings"] == series["airings"] + 10 and now["through"] != series["through"]:
            break
        await asyncio.sleep(0.05)
    assert now["airings"] == series["airings"] + 10
    assert datetime.fromisoformat(now["through"]) > datetime.fromisoformat(series["through"])
