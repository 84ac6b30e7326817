"""The scheduler's HTTP API against real PostgreSQL and RabbitMQ, as planners and operators use it."""

from uuid import uuid4

import orjson

from tests.integration.scheduler_api import (
    EA_TU,
    OPERATOR,
    PLANNER,
    VIEWER,
    bearer,
    client,
    events_seen,
)
from tests.polling import eventually

__all__ = ["client", "events_seen"]  # fixtures
OTHER_OPERATOR = bearer("operator", sub="Operator Hòa Thắng", resources=["loudspeaker:xa-hoa-thang"])


def bulletin(**overrides):
    body = {
        "kind": "loudspeaker",
        "resource_id": EA_TU,
        "starts_at": "2023-08-07T17:30",
        "duration_minutes": 15,
        "title": "Bản tin BHYT học sinh, sinh viên",
        "language": "Êđê",
        "script": "Kính thưa bà con …",
    }
    return body | overrides


async def test_planner_plans_and_sees_local_times(client):
    response = await client.post("/v1/airings", json=bulletin(), headers=PLANNER)
    assert response.status == 201, await response.text()
    airing = await response.json()
    assert airing["starts_at"] == "2023-08-07T17:30:00+07:00"
    assert airing["ends_at"] == "2023-08-07T17:45:00+07:00"
    assert airing["status"] == "scheduled" and airing["language"] == "Êđê"
    assert response.headers["Location"] == f"/v1/airings/{airing['airing_id']}"
    again = await client.get(response.headers["Location"], headers=VIEWER)
    assert (await again.json())["title"] == "Bản tin BHYT học sinh, sinh viên"


async def test_auth_roles(client):
    none = await client.post("/v1/airings", json=bulletin())
    assert none.status == 401
    assert none.content_type == "application/problem+json"
    forged = await client.get("/v1/airings", headers={"Authorization": "Bearer abc.def"})
    assert forged.status == 401
    viewer = await client.post("/v1/airings", json=bulletin(), headers=VIEWER)
    assert viewer.status == 403
    assert "may not plan" in (await viewer.json())["detail"]


async def test_an_overlap_is_a_409_naming_the_airing_in_the_way(client):
    first = await (await client.post("/v1/airings", json=bulletin(), headers=PLANNER)).json()
    clash = await client.post(
        "/v1/airings", json=bulletin(starts_at="2023-08-07T17:40", title="Bản tin M'nông"), headers=PLANNER
    )
    assert clash.status == 409
    problem = await clash.json()
    [conflict] = problem["conflicts"]
    assert conflict["airing_id"] == first["airing_id"]
    assert conflict["title"] == "Bản tin BHYT học sinh, sinh viên"
    assert conflict["starts_at"] == "2023-08-07T17:30:00+07:00"


async def test_bad_input_names_the_field(client):
    missing = await client.post("/v1/airings", json=bulletin(title="", kind="tv"), headers=PLANNER)
    assert missing.status == 422
    fields = {e["field"] for e in (await missing.json())["errors"]}
    assert {"title", "kind"} <= fields
    backwards = await client.post(
        "/v1/airings", json=bulletin(duration_minutes=None, ends_at="2023-08-07T17:00"), headers=PLANNER
    )
    assert backwards.status == 422
    assert (await backwards.json())["errors"][0]["field"] == "ends_at"
    not_json = await client.post("/v1/airings", data=b"{oops", headers=PLANNER)
    assert not_json.status == 400
    unknown = await client.get(f"/v1/airings/{uuid4()}", headers=VIEWER)
    assert unknown.status == 404


async def test_idempotency_key_replays_the_first_response(client):
    headers = PLANNER | {"Idempotency-Key": "dak-lak-2023-08-07-ea-tu-1"}
    first = await client.post("/v1/airings", json=bulletin(), headers=headers)
    retry = await client.post("/v1/airings", json=bulletin(), headers=headers)
    assert first.status == retry.status == 201
    assert await first.json() == await retry.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    listed = await (
        await client.get("/v1/airings", params={"resource_id": EA_TU, "total": "true"}, headers=VIEWER)
    ).json()
    assert listed["total"] == 1
    other = await client.post("/v1/airings", json=bulletin(title="khác"), headers=headers)
    assert other.status == 422


async def test_emergency_bumps_and_operators_confirm_in_their_scope(client, events_seen):
    normal = await (await client.post("/v1/airings", json=bulletin(), headers=PLANNER)).json()
    storm = await client.post(
        "/v1/airings",
        json=bulletin(title="Khẩn cấp: bão số 3", starts_at="2023-08-07T17:35", priority="emergency"),
        headers=PLANNER,
    )
    assert storm.status == 201
    bumped = await (await client.get(f"/v1/airings/{normal['airing_id']}", headers=OPERATOR)).json()
    assert bumped["status"] == "bumped" and "bão số 3" in bumped["reason"]

    storm_id = (await storm.json())["airing_id"]
    url = f"/v1/airings/{storm_id}/confirmation"
    as_run = {"outcome": "aired", "actual_start": "2023-08-07T17:36", "actual_end": "2023-08-07T17:51"}
    assert (await client.post(url, json=as_run, headers=OTHER_OPERATOR)).status == 403
    confirmed = await client.post(url, json=as_run, headers=OPERATOR)
    assert confirmed.status == 200, await confirmed.text()
    body = await confirmed.json()
    assert body["status"] == "aired" and body["operator"] == "Y Bơ Êban"
    # The answer comes from the decided schedule, not the read model: it is what the list shows.
    listed = await (await client.get(f"/v1/airings/{storm_id}", headers=OPERATOR)).json()
    assert body == listed and body["actual_start"].startswith("2023-08-07T17:36")
    assert (await client.post(url, json=as_run, headers=OPERATOR)).status == 200  # identical again: no-op
    bumped_confirm = await client.post(
        f"/v1/airings/{normal['airing_id']}/confirmation", json=as_run, headers=OPERATOR
    )
    assert bumped_confirm.status == 409

    await eventually(lambda: len([m for m in events_seen if m.type.startswith("schedule.Airing")]) >= 4)
    types = [m.type for m in events_seen if m.type.startswith("schedule.Airing")]
    assert events_seen[0].type == "schedule.ResourceDescribed"
    assert types[:4] == [
        "schedule.AiringScheduled",
        "schedule.AiringBumped",
        "schedule.AiringScheduled",
        "schedule.AiringConfirmed",
    ]
    assert orjson.loads(events_seen[-1].body)["metadata"]["actor"] == "Y Bơ Êban"


async def test_cancel_then_confirm_is_refused_and_run_sheet_lists_the_day(client):
    morning = await (
        await client.post("/v1/airings", json=bulletin(starts_at="2023-08-07T05:30"), headers=PLANNER)
    ).json()
    evening = await (await client.post("/v1/airings", json=bulletin(), headers=PLANNER)).json()
    cancelled = await client.post(
        f"/v1/airings/{morning['airing_id']}/cancel", json={"reason": "trùng họp thôn"}, headers=PLANNER
    )
    assert (await cancelled.json())["status"] == "cancelled"
    refused = await client.post(
        f"/v1/airings/{morning['airing_id']}/confirmation", json={"outcome": "aired"}, headers=OPERATOR
    )
    assert refused.status == 409
    sheet = await (
        await client.get(f"/v1/resources/{EA_TU}/run-sheet", params={"date": "2023-08-07"}, headers=OPERATOR)
    ).json()
    assert [i["airing_id"] for i in sheet["items"]] == [morning["airing_id"], evening["airing_id"]]
    assert sheet["items"][1]["script"] == "Kính thưa bà con …"
    moved = await client.post(
        f"/v1/airings/{evening['airing_id']}/reschedule",
        json={"starts_at": "2023-08-07T18:00"},
        headers=PLANNER,
    )
    assert (await moved.json())["ends_at"] == "2023-08-07T18:15:00+07:00"


async def test_health_readiness_metrics_and_openapi(client):
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["postgresql"] == "ok"
    await client.get("/v1/airings", headers=VIEWER)
    metrics = await (await client.get("/metrics")).text()
    assert 'loa_http_requests_total{method="GET",route="/v1/airings"' in metrics
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"] == "3.1.0" and "/v1/airings" in spec["paths"]
    assert "Loa" in await (await client.get("/docs")).text()


async def test_calendar_feed_for_a_phone(client):
    from icalendar import Calendar

    created = await (await client.post("/v1/airings", json=bulletin(), headers=PLANNER)).json()
    token = OPERATOR["Authorization"].removeprefix("Bearer ")
    response = await client.get(
        f"/v1/resources/{EA_TU}/calendar.ics", params={"token": token, "from": "2023-08-01"}
    )
    assert response.status == 200
    assert response.content_type == "text/calendar"
    body = await response.read()
    calendar = Calendar.from_ical(body)
    [event] = [c for c in calendar.walk("VEVENT")]
    assert str(event["uid"]) == f"{created['airing_id']}@loa"
    assert str(event["summary"]) == "Bản tin BHYT học sinh, sinh viên (Êđê)"
    assert event["dtstart"].dt.isoformat() == "2023-08-07T17:30:00+07:00"
    assert str(event["location"]) == "Xã Ea Tu"
    assert str(calendar["x-wr-calname"]) == "Loa — Xã Ea Tu"
    assert b"BEGIN:VTIMEZONE" in body and b"TZID:Asia/Ho_Chi_Minh" in body
    assert (await client.get(f"/v1/resources/{EA_TU}/calendar.ics")).status == 401


async def test_airings_of_one_series_and_a_parameter_the_list_does_not_take(client):
    series = {"resource_id": EA_TU, "kind": "loudspeaker", "rule": "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
              "first_start": "2023-08-07T06:00", "duration_minutes": 15,
              "title": "Luật BHXH năm 2024"}  # fmt: skip
    created = await client.post("/v1/series", json=series, headers=PLANNER)
    assert created.status == 201, await created.text()
    series_id = (await created.json())["series_id"]
    await client.post("/v1/airings", json=bulletin(), headers=PLANNER)  # not of the series
    token = VIEWER["Authorization"].removeprefix("Bearer ")  # a token in the query is no filter
    found = await client.get("/v1/airings", params={"series_id": series_id, "token": token})
    assert found.status == 200, await found.text()
    items = (await found.json())["items"]
    assert [a["series_id"] for a in items] == [series_id] * 3
    assert [a["starts_at"][:10] for a in items] == ["2023-08-07", "2023-08-14", "2023-08-21"]

    misspelt = await client.get("/v1/airings", params={"serie_id": series_id, "limit": 5}, headers=VIEWER)
    assert misspelt.status == 400 and misspelt.content_type == "application/problem+json"
    problem = await misspelt.json()
    assert [e["field"] for e in problem["errors"]] == ["serie_id"] and "series_id" in problem["errors"][0][
        "reason"
    ]
