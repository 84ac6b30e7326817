"""Bumped airings that come back: the view names the emergency, the planner restores them in one
request (each refused with its reason while its slot is taken), or moves or cancels each one."""

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from services.common.settings import Settings
from services.metrics.bootstrap import create_app as create_metrics
from tests.integration.pg import unique_schema
from tests.integration.scheduler_api import (
    EA_TU,
    OPERATOR,
    PLANNER,
    SECRET,
    VIEWER,
    bulletin,
    client,
    events_seen,
)

__all__ = ["client", "events_seen"]  # fixtures


async def plan(client, body: dict) -> dict:
    response = await client.post("/v1/airings", json=body, headers=PLANNER)
    assert response.status == 201, await response.text()
    return await response.json()


async def airing(client, airing_id: str) -> dict:
    return await (await client.get(f"/v1/airings/{airing_id}", headers=VIEWER)).json()


async def restore(client, emergency_id: str, **headers) -> dict:
    response = await client.post(f"/v1/airings/{emergency_id}/restore-bumped", headers=PLANNER | headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_the_planner_restores_bumped_airings_once_the_emergency_ends_early_or_is_cancelled(client):
    first = await plan(client, bulletin("Bản tin BHYT học sinh", "2023-08-07T17:30"))
    second = await plan(client, bulletin("Bản tin BHXH tự nguyện", "2023-08-07T18:00"))
    storm = await plan(
        client, bulletin("Khẩn cấp: bão số 3", "2023-08-07T17:30", minutes=45, priority="emergency")
    )
    for bumped in (first, second):
        view = await airing(client, bumped["airing_id"])
        assert view["status"] == "bumped"
        assert (view["bumped_by"], view["bumped_by_title"]) == (storm["airing_id"], "Khẩn cấp: bão số 3")

    # While the emergency holds the slots, each is refused, naming it.
    held = await restore(client, storm["airing_id"])
    assert (held["restored"], held["refused"]) == (0, 2)
    assert {c["airing_id"] for i in held["items"] for c in i["conflicts"]} == {storm["airing_id"]}
    assert "Khẩn cấp: bão số 3" in held["items"][0]["reason"]

    # It ends early (17:30–17:50): the 18:00 bulletin comes back, the 17:30 one is still in its way.
    shorter = await client.post(
        f"/v1/airings/{storm['airing_id']}/reschedule",
        json={"starts_at": "2023-08-07T17:30", "ends_at": "2023-08-07T17:50"},
        headers=PLANNER,
    )
    assert shorter.status == 200, await shorter.text()
    partly = await restore(client, storm["airing_id"], **{"Idempotency-Key": "khoi-phuc-1"})
    results = {i["airing_id"]: i for i in partly["items"]}
    assert results[second["airing_id"]]["result"] == "restored"
    assert results[second["airing_id"]]["status"] == "scheduled"
    assert results[first["airing_id"]]["result"] == "refused"
    replay = await client.post(
        f"/v1/airings/{storm['airing_id']}/restore-bumped",
        headers=PLANNER | {"Idempotency-Key": "khoi-phuc-1"},
    )
    assert await replay.json() == partly and replay.headers["Idempotent-Replayed"] == "true"
    back = await airing(client, second["airing_id"])
    assert (back["status"], back["bumped_by"], back["reason"]) == ("scheduled", None, None)

    # Cancelled: the rest comes back; a second request restores nothing twice.
    cancelled = await client.post(f"/v1/airings/{storm['airing_id']}/cancel", json={}, headers=PLANNER)
    assert cancelled.status == 200
    rest = await restore(client, storm["airing_id"])
    assert [(i["airing_id"], i["result"]) for i in rest["items"]] == [
        (first["airing_id"], "restored"),
        (second["airing_id"], "not_bumped"),
    ]
    assert (await airing(client, first["airing_id"]))["status"] == "scheduled"
    again = await restore(client, storm["airing_id"])
    assert (again["restored"], again["refused"]) == (0, 0)
    history = await (await client.get(f"/v1/airings/{first['airing_id']}/history", headers=VIEWER)).json()
    assert "schedule.AiringRestored" in str(history)


async def test_a_bumped_airing_can_be_moved_or_cancelled_but_not_confirmed(client):
    first = await plan(client, bulletin("Bản tin BHYT học sinh", "2023-08-07T17:30"))
    second = await plan(client, bulletin("Bản tin BHXH tự nguyện", "2023-08-07T17:45"))
    storm = await plan(
        client, bulletin("Khẩn cấp: lũ quét", "2023-08-07T17:30", minutes=30, priority="emergency")
    )
    into_the_storm = await client.post(
        f"/v1/airings/{first['airing_id']}/reschedule",
        json={"starts_at": "2023-08-07T17:40"},
        headers=PLANNER,
    )
    assert into_the_storm.status == 409
    assert (await into_the_storm.json())["conflicts"][0]["airing_id"] == storm["airing_id"]
    moved = await client.post(
        f"/v1/airings/{first['airing_id']}/reschedule",
        json={"starts_at": "2023-08-07T19:00"},
        headers=PLANNER,
    )
    assert moved.status == 200, await moved.text()
    assert (await moved.json())["status"] == "rescheduled"
    withdrawn = await client.post(
        f"/v1/airings/{second['airing_id']}/cancel", json={"reason": "không phát lại"}, headers=PLANNER
    )
    assert withdrawn.status == 200 and (await withdrawn.json())["status"] == "cancelled"
    confirm = await client.post(
        f"/v1/airings/{second['airing_id']}/confirmation", json={"outcome": "aired"}, headers=OPERATOR
    )
    assert confirm.status == 409
    # Nothing left to restore: each says what it is now.
    rest = await restore(client, storm["airing_id"])
    assert {i["result"] for i in rest["items"]} == {"not_bumped"}


async def test_only_planners_of_the_province_restore(client):
    storm = await plan(client, bulletin("Khẩn cấp", "2023-08-07T17:30", priority="emergency"))
    url = f"/v1/airings/{storm['airing_id']}/restore-bumped"
    assert (await client.post(url, headers=OPERATOR)).status == 403
    assert (await client.post(url)).status == 401
    missing = await client.post(
        "/v1/airings/6f1c2b7e-0000-4000-8000-000000000000/restore-bumped", headers=PLANNER
    )
    assert missing.status == 404


async def test_the_statistics_count_a_restored_airing_as_planned_again(client, pg_dsn, amqp_url):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    async with TestClient(TestServer(create_metrics(settings, schema=unique_schema("metrics")))) as metrics:
        await plan(client, bulletin("Bản tin BHYT học sinh", "2023-08-07T17:30"))
        storm = await plan(client, bulletin("Khẩn cấp: bão số 3", "2023-08-07T17:30", priority="emergency"))

        async def figures() -> tuple[int, int]:
            answer = await metrics.get("/v1/stats", params={"resource_id": EA_TU}, headers=VIEWER)
            rows = (await answer.json())["rows"] if answer.status == 200 else []
            return (rows[0]["airings_planned"], rows[0]["airings_bumped"]) if rows else (0, 0)

        async def until(wanted: tuple[int, int]) -> None:
            async with asyncio.timeout(15):  # the metrics service hears of it through RabbitMQ
                while await figures() != wanted:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)

        await until((1, 1))  # the emergency planned, the bulletin bumped
        await client.post(f"/v1/airings/{storm['airing_id']}/cancel", json={}, headers=PLANNER)
        assert (await restore(client, storm["airing_id"]))["restored"] == 1
        await until((1, 0))  # the bulletin planned again, the emergency cancelled
