"""Feeds a calendar can follow: the .ics of a series, expanded by recurring-ical-events, gives the
same occurrences as the API's airings; an unchanged feed answers 304 (real PostgreSQL, RabbitMQ)."""

from datetime import UTC, datetime, timedelta

import recurring_ical_events
from icalendar import Calendar

from contracts.localtime import VIETNAM
from tests.integration.scheduler_api import EA_TU, HOA_THANG, PLANNER, VIEWER, client, events_seen

__all__ = ["client", "events_seen"]  # fixtures
FEED = f"/v1/resources/{HOA_THANG}/calendar.ics"


async def airings(client, resource_id, start: datetime, end: datetime) -> list[dict]:
    params = {"resource_id": resource_id, "from": start.isoformat(), "to": end.isoformat(), "limit": 1000}
    page = await (await client.get("/v1/airings", params=params, headers=VIEWER)).json()
    assert page["next_cursor"] is None
    return page["items"]


def occurrences(ics: bytes, start: datetime, end: datetime) -> set[tuple]:
    """(UTC start, UTC end, summary) of every event the feed expands to in [start, end)."""
    events = recurring_ical_events.of(Calendar.from_ical(ics)).between(start, end)
    return {
        (e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC), str(e["SUMMARY"]))
        for e in events
        if str(e.get("STATUS")) != "CANCELLED"
    }


def expected(items: list[dict]) -> set[tuple]:
    return {
        (
            datetime.fromisoformat(a["starts_at"]).astimezone(UTC),
            datetime.fromisoformat(a["ends_at"]).astimezone(UTC),
            f"{a['title']} ({a['language']})",
        )
        for a in items
        if a["status"] not in ("cancelled", "bumped")
    }


async def test_a_series_feed_expands_to_the_apis_airings_and_answers_304(client):
    today = datetime.now(VIETNAM).date()
    first = datetime.combine(today + timedelta(days=1), datetime.min.time()).replace(hour=17)
    # A Monday-Wednesday-Friday series with one date left out by the planner (EXDATE) …
    weekdays = [
        first + timedelta(days=i) for i in range(60) if (first + timedelta(days=i)).weekday() in (0, 2, 4)
    ]
    created = await client.post(
        "/v1/series",
        json={"resource_id": HOA_THANG, "kind": "loudspeaker", "rule": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
              "first_start": first.isoformat(), "duration_minutes": 15, "title": "Luật BHXH năm 2024",
              "language": "Kinh", "exdates": [weekdays[5].isoformat()]},
        headers=PLANNER | {"Idempotency-Key": "feed-series-1"},
    )  # fmt: skip
    assert created.status == 201, await created.text()
    series_id = (await created.json())["series_id"]
    start = datetime.combine(today, datetime.min.time(), VIETNAM)
    end = start + timedelta(days=45)  # within the scheduled horizon (60 days)
    planned = await airings(client, HOA_THANG, start, end)
    assert len(planned) == len([d for d in weekdays if d < end.replace(tzinfo=None)]) - 1
    # … one occurrence moved by hand to 18:00, one cancelled, one retitled; and a single airing.
    moved, cancelled, retitled = planned[0], planned[2], planned[4]
    answer = await client.post(
        f"/v1/airings/{moved['airing_id']}/reschedule",
        json={"starts_at": moved["starts_at"][:11] + "18:00"},
        headers=PLANNER,
    )
    assert answer.status == 200, await answer.text()
    answer = await client.post(
        f"/v1/airings/{cancelled['airing_id']}/cancel", json={"reason": "mất điện"}, headers=PLANNER
    )
    assert answer.status == 200, await answer.text()
    single = await client.post(
        "/v1/airings",
        json={"kind": "loudspeaker", "resource_id": HOA_THANG, "duration_minutes": 30, "language": "Kinh",
              "starts_at": (first + timedelta(days=1)).replace(hour=6).isoformat(), "title": "Họp dân"},
        headers=PLANNER,
    )  # fmt: skip
    assert single.status == 201, await single.text()

    params = {"from": start.isoformat(), "to": end.isoformat()}
    response = await client.get(FEED, params=params, headers=VIEWER)
    assert response.status == 200, await response.text()
    ics = await response.read()
    text = ics.decode()
    rule = next(line for line in text.splitlines() if line.startswith("RRULE:"))
    assert f"UID:series-{series_id}@loa" in text and "UNTIL=" in rule and "BYDAY=MO,WE,FR" in rule
    assert "EXDATE;TZID=Asia/Ho_Chi_Minh" in text and "RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh" in text
    assert text.count("BEGIN:VEVENT") == 3  # the series, the moved occurrence, the single airing
    assert "X-WR-CALDESC" in text and response.headers["X-Loa-Feed-Window"].startswith(start.isoformat()[:16])

    listed = await airings(client, HOA_THANG, start, end)
    assert expected(listed) == occurrences(ics, start, end)
    assert len(expected(listed)) == len(planned) - 1 + 1  # one cancelled, one single airing added
    assert retitled["airing_id"] in {a["airing_id"] for a in listed}

    # The same feed again: the same bytes (DTSTAMP is the last change, not now) and 304 when asked.
    again = await client.get(FEED, params=params, headers=VIEWER)
    assert await again.read() == ics and again.headers["ETag"] == response.headers["ETag"]
    unchanged = await client.get(
        FEED, params=params, headers=VIEWER | {"If-None-Match": response.headers["ETag"]}
    )
    assert unchanged.status == 304 and await unchanged.read() == b""
    since = await client.get(
        FEED, params=params, headers=VIEWER | {"If-Modified-Since": response.headers["Last-Modified"]}
    )
    assert since.status == 304
    # A change makes the copy stale.
    answer = await client.post(
        f"/v1/airings/{retitled['airing_id']}/cancel", json={"reason": "trùng lịch"}, headers=PLANNER
    )
    assert answer.status == 200
    stale = await client.get(
        FEED, params=params, headers=VIEWER | {"If-None-Match": response.headers["ETag"]}
    )
    assert stale.status == 200 and stale.headers["ETag"] != response.headers["ETag"]
    newer = await stale.read()
    assert occurrences(newer, start, end) == expected(await airings(client, HOA_THANG, start, end))

    # The default window reaches a year ahead: the phone sees the series past the scheduled horizon.
    whole = await client.get(FEED, headers=VIEWER)
    year = occurrences(await whole.read(), start, start + timedelta(days=366))
    assert len(year) > 3 * 50 and max(year)[0] > datetime.now(UTC) + timedelta(days=300)


async def test_a_campaign_feed_covers_its_window_whole(client):
    created = await client.post(
        "/v1/campaigns",
        json={"name": "BHYT học sinh, sinh viên", "province": "dak-lak", "starts_on": "2023-08-01",
              "ends_on": "2023-08-31", "communes": [EA_TU, HOA_THANG]},
        headers=PLANNER,
    )  # fmt: skip
    campaign_id = (await created.json())["campaign_id"]
    fan_out = {"title": "Bản tin BHYT", "campaign_id": campaign_id, "rule": "FREQ=DAILY",
               "from_date": "2023-08-01", "to_date": "2023-08-31", "window": 2, "duration_minutes": 15,
               "gap_minutes": 5, "script": "Kính thưa bà con"}  # fmt: skip
    planned = await client.post(
        "/v1/fan-outs", json=fan_out, headers=PLANNER | {"Idempotency-Key": "feed-fo"}
    )
    assert planned.status == 201, await planned.text()
    assert (await planned.json())["planned"] == 31 * 3
    feed = f"/v1/campaigns/{campaign_id}/calendar.ics"
    window = {"from": "2023-08-01", "to": "2023-09-01"}
    response = await client.get(feed, params=window, headers=VIEWER)
    assert response.status == 200
    events = Calendar.from_ical(await response.read()).walk("VEVENT")
    assert len(events) == 93 and len({str(e["UID"]) for e in events}) == 93
    half = await client.get(feed, params={"from": "2023-08-16", "to": "2023-09-01"}, headers=VIEWER)
    assert len(Calendar.from_ical(await half.read()).walk("VEVENT")) == 16 * 3
    too_long = await client.get(feed, params={"from": "2020-01-01", "to": "2026-01-01"}, headers=VIEWER)
    assert too_long.status == 422 and (await too_long.json())["errors"][0]["field"] == "to"
