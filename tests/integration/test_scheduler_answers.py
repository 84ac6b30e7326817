"""Every command on an airing answers with the airing as the lists show it: the answer, taken from the
schedule that decided the command (no wait for the read model), equals ``GET /v1/airings/{id}`` once
the read model has applied the events. And a command on an airing planned moments ago elsewhere (on
another replica) finds it instead of a 404."""

import asyncio
from datetime import datetime
from uuid import uuid4

from contracts.envelope import EventMetadata
from contracts.events.schedule import AiringKind
from contracts.localtime import VIETNAM
from services.common.auth import Principal
from services.scheduler.app import handlers
from services.scheduler.app.schedules import Schedules
from services.scheduler.domain.commands import ScheduleAiring
from services.scheduler.keys import STORE
from tests.integration.scheduler_api import (
    EA_TU,
    OPERATOR,
    PLANNER,
    VIEWER,
    bearer,
    bulletin,
    client,
    events_seen,
    register,
)

__all__ = ["client", "events_seen"]  # fixtures
PAGE = "page:facebook:bhxh-dak-lak-answers"
PAGE_OPERATOR = bearer("operator", sub="Quản trị fanpage BHXH Đắk Lắk", resources=[PAGE])


async def listed(client, response, status: int = 200) -> dict:
    """The answer, checked equal to the airing as the list shows it after the read model caught up."""
    assert response.status == status, await response.text()
    answer = await response.json()
    shown = await client.get(f"/v1/airings/{answer['airing_id']}", headers=VIEWER)
    assert shown.status == 200, await shown.text()
    assert answer == await shown.json()
    return answer


async def plan(client, body: dict) -> dict:
    return await listed(client, await client.post("/v1/airings", json=body, headers=PLANNER), 201)


async def command(client, airing: dict, verb: str, body: dict | None, headers=PLANNER) -> dict:
    response = await client.post(f"/v1/airings/{airing['airing_id']}/{verb}", json=body, headers=headers)
    return await listed(client, response)


async def test_planning_and_moving_answer_as_listed(client):
    first = await plan(client, bulletin("Bản tin BHYT học sinh, sinh viên", "2023-08-07T17:30"))
    moved = await command(
        client, first, "reschedule", {"starts_at": "2023-08-07T17:00", "reason": "họp thôn"}
    )
    assert (moved["status"], moved["reason"]) == ("rescheduled", "họp thôn")
    assert moved["ends_at"] == "2023-08-07T17:15:00+07:00"  # no end given: the length is kept
    longer = await command(
        client, first, "reschedule", {"starts_at": "2023-08-08T17:00", "ends_at": "2023-08-08T17:40"}
    )
    assert (longer["ends_at"], longer["reason"]) == ("2023-08-08T17:40:00+07:00", None)
    again = await command(
        client, first, "reschedule", {"starts_at": "2023-08-08T17:00", "ends_at": "2023-08-08T17:40"}
    )
    assert again == longer  # already there: nothing decided, the same answer
    gone = await command(client, first, "cancel", {"reason": "trùng lịch họp"})
    assert (gone["status"], gone["reason"]) == ("cancelled", "trùng lịch họp")


async def test_confirmations_and_corrections_answer_as_listed(client):
    aired = await plan(client, bulletin("Bản tin BHXH tự nguyện", "2023-08-07T05:30"))
    partial = await plan(client, bulletin("Bản tin BHYT hộ gia đình", "2023-08-07T06:00"))
    missed = await plan(client, bulletin("Bản tin lương hưu", "2023-08-07T06:30"))
    as_run = {"outcome": "aired", "actual_start": "2023-08-07T05:31", "actual_end": "2023-08-07T05:44"}
    done = await command(client, aired, "confirmation", as_run, OPERATOR)
    assert (done["status"], done["operator"], done["actual_start"]) == (
        "aired", "Y Bơ Êban", "2023-08-07T05:31:00+07:00"
    )  # fmt: skip
    part = await command(
        client, partial, "confirmation", {"outcome": "partial", "reason": "mất điện"}, OPERATOR
    )
    assert (part["status"], part["reason"]) == ("partial", "mất điện")
    lost = await command(
        client, missed, "confirmation", {"outcome": "missed", "reason": "loa hỏng"}, OPERATOR
    )
    assert lost["status"] == "missed"
    fixed = await command(
        client,
        missed,
        "correction",
        {"outcome": "aired", "why": "nhầm ngày", "actual_start": "2023-08-07T06:32"},
    )
    assert (fixed["status"], fixed["reason"], fixed["operator"]) == (
        "aired",
        None,
        "Trung tâm Truyền thông BHXH Đắk Lắk",
    )
    assert fixed["actual_start"] == "2023-08-07T06:32:00+07:00"


async def test_livestreams_answer_as_listed(client):
    await register(client, PAGE, {"type": "page", "name": "Fanpage BHXH Đắk Lắk", "province": "dak-lak",
                                  "platform": "facebook"})  # fmt: skip
    body = {"kind": "livestream", "resource_id": PAGE, "duration_minutes": 60,
            "title": "Livestream: BHYT học sinh, sinh viên"}  # fmt: skip
    first = await plan(client, body | {"starts_at": "2023-08-25T20:00"})
    live = await command(client, first, "live", {"at": "2023-08-25T20:02", "url": "https://fb.com/live/1"},
                         PAGE_OPERATOR)  # fmt: skip
    assert (live["status"], live["actual_start"], live["operator"]) == (
        "live", "2023-08-25T20:02:00+07:00", "Quản trị fanpage BHXH Đắk Lắk"
    )  # fmt: skip
    ended = await command(client, first, "end", {"at": "2023-08-25T21:05"}, PAGE_OPERATOR)
    assert (ended["status"], ended["actual_end"]) == ("ended", "2023-08-25T21:05:00+07:00")
    confirmed = await command(client, first, "confirmation", {"outcome": "aired"}, PAGE_OPERATOR)
    assert (confirmed["status"], confirmed["actual_start"]) == ("aired", None)  # the as-run record counts

    # Moved with a reason, then live: the page still says why it was moved.
    second = await plan(client, body | {"starts_at": "2023-08-26T20:00"})
    await command(
        client, second, "reschedule", {"starts_at": "2023-08-26T19:30", "reason": "khách mời đến sớm"}
    )
    live = await command(client, second, "live", {"at": "2023-08-26T19:31"}, PAGE_OPERATOR)
    assert (live["status"], live["reason"]) == ("live", "khách mời đến sớm")
    ended = await command(client, second, "end", {"at": "2023-08-26T20:20"}, PAGE_OPERATOR)
    assert (ended["actual_start"], ended["reason"]) == ("2023-08-26T19:31:00+07:00", "khách mời đến sớm")


async def test_bumped_and_restored_airings_answer_as_listed(client):
    first = await plan(client, bulletin("Bản tin BHYT học sinh", "2023-08-07T17:30"))
    second = await plan(client, bulletin("Bản tin BHXH tự nguyện", "2023-08-07T18:00"))
    storm = await plan(
        client, bulletin("Khẩn cấp: bão số 3", "2023-08-07T17:30", minutes=45, priority="emergency")
    )
    bumped = await (await client.get(f"/v1/airings/{first['airing_id']}", headers=VIEWER)).json()
    assert (bumped["status"], bumped["bumped_by"]) == ("bumped", storm["airing_id"])
    # The first moves elsewhere: still bumped by the storm, as the list shows it.
    moved = await command(
        client, first, "reschedule", {"starts_at": "2023-08-07T19:00", "reason": "dời sau bão"}
    )
    assert (moved["status"], moved["bumped_by_title"]) == ("rescheduled", "Khẩn cấp: bão số 3")
    cancelled = await command(client, storm, "cancel", {"reason": "bão tan"})
    assert cancelled["status"] == "cancelled"
    restoring = await client.post(f"/v1/airings/{storm['airing_id']}/restore-bumped", headers=PLANNER)
    assert restoring.status == 200, await restoring.text()
    [item] = [i for i in (await restoring.json())["items"] if i["result"] == "restored"]
    back = await (await client.get(f"/v1/airings/{second['airing_id']}", headers=VIEWER)).json()
    assert item["airing_id"] == second["airing_id"]
    assert {k: item[k] for k in ("title", "starts_at", "ends_at", "status")} == {
        k: back[k] for k in ("title", "starts_at", "ends_at", "status")
    }
    assert (back["status"], back["bumped_by"], back["reason"]) == ("scheduled", None, None)
    # Restored, then confirmed: the answer no longer names the emergency either.
    aired = await command(client, second, "confirmation", {"outcome": "aired"}, OPERATOR)
    assert (aired["status"], aired["bumped_by"], aired["bumped_by_title"]) == ("aired", None, None)


async def test_an_occurrence_of_a_series_answers_as_listed(client):
    series = {"resource_id": EA_TU, "kind": "loudspeaker", "rule": "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
              "first_start": "2023-08-07T17:00", "duration_minutes": 15, "title": "Luật BHXH năm 2024",
              "language": "Kinh"}  # fmt: skip
    created = await client.post("/v1/series", json=series, headers=PLANNER)
    assert created.status == 201, await created.text()
    series_id = (await created.json())["series_id"]
    listing = await client.get("/v1/airings", params={"resource_id": EA_TU}, headers=VIEWER)
    occurrences = [a for a in (await listing.json())["items"] if a["series_id"] == series_id]
    second = occurrences[1]
    moved = await command(client, second, "reschedule", {"starts_at": "2023-08-15T17:00"})
    assert moved["recurrence_id"] == "2023-08-14T17:00:00"
    # The series moves to 17:30 from its first occurrence: the moved one is carried to its new one.
    revision = {"scope": "following", "occurrence": "2023-08-07T17:00", "first_start": "2023-08-07T17:30"}
    revised = await client.post(f"/v1/series/{series_id}/revision", json=revision, headers=PLANNER)
    assert revised.status == 200, await revised.text()
    confirmed = await command(client, second, "confirmation", {"outcome": "aired"}, OPERATOR)
    assert confirmed["recurrence_id"] == "2023-08-14T17:30:00", confirmed


async def test_a_command_finds_an_airing_just_planned_on_another_replica(client):
    """Another replica appends to the store; this one has not listed the airings yet: no 404."""
    elsewhere = Schedules(client.server.app[STORE])  # another process's schedules, on the same store
    planner = Principal(sub="Trung tâm Truyền thông BHXH Đắk Lắk", role="planner", province="dak-lak")
    ids = []
    for i in range(5):
        airing = ScheduleAiring(
            airing_id=uuid4(), resource_id=EA_TU, kind=AiringKind.loudspeaker,
            starts_at=datetime(2023, 9, 4, 6 + 2 * i, 0, tzinfo=VIETNAM),
            ends_at=datetime(2023, 9, 4, 6 + 2 * i, 15, tzinfo=VIETNAM),
            title=f"Bản tin số {i + 1}", language="Êđê",
        )  # fmt: skip
        await handlers.schedule_airing(elsewhere, planner, airing, EventMetadata(actor=planner.sub))
        ids.append(airing.airing_id)
    answers = await asyncio.gather(*(
        client.post(f"/v1/airings/{i}/confirmation", json={"outcome": "aired"}, headers=OPERATOR) for i in ids
    ))  # fmt: skip
    for response in answers:
        assert response.status == 200, await response.text()
        assert (await response.json())["status"] == "aired"
    unknown = await client.post(
        f"/v1/airings/{uuid4()}/confirmation", json={"outcome": "aired"}, headers=OPERATOR
    )
    assert unknown.status == 404
