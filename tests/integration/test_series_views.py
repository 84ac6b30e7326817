"""Three views of a series agree after every edit kind: python-dateutil (the planner's rule with its
EXDATEs and overrides), the API's airings, and the .ics feed expanded by recurring-ical-events — start
instants and titles (real PostgreSQL and RabbitMQ; the scenarios are tests/series_edits.py)."""

from datetime import datetime, timedelta

import recurring_ical_events
from icalendar import Calendar

from contracts.localtime import VIETNAM
from tests.integration.scheduler_api import PLANNER, VIEWER, client, commune, events_seen, register
from tests.series_edits import SPAN, Edit, Expected, base, scenarios

__all__ = ["client", "events_seen"]  # fixtures
LANGUAGE = " (Kinh)"


def next_monday() -> datetime:
    """A Monday at 06:00 two to eight days ahead, so every occurrence compared is in the future and
    within the scheduled horizon (60 days)."""
    day = datetime.now(VIETNAM).date() + timedelta(days=2)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime.combine(day, datetime.min.time()).replace(hour=6)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(VIETNAM).replace(tzinfo=None)


async def listed(client, resource_id: str, m: datetime) -> list[dict]:
    params = {"resource_id": resource_id, "limit": 1000,
              "from": (m - timedelta(days=2)).replace(tzinfo=VIETNAM).isoformat(),
              "to": (m + timedelta(days=62)).replace(tzinfo=VIETNAM).isoformat()}  # fmt: skip
    page = await (await client.get("/v1/airings", params=params, headers=VIEWER)).json()
    assert page["next_cursor"] is None
    return page["items"]


async def edit(client, series_id: str, resource_id: str, m: datetime, e: Edit) -> None:
    """The planner's edit through the API: an occurrence is named by its RECURRENCE-ID."""
    if e.kind in ("move", "cancel"):
        [airing] = [a for a in await listed(client, resource_id, m) if a["recurrence_id"] and
                    datetime.fromisoformat(a["recurrence_id"]) == e.key]  # fmt: skip
        if e.kind == "move":
            path, body = "reschedule", {"starts_at": e.to.isoformat()}
        else:
            path, body = "cancel", {"reason": "mất điện"}
        answer = await client.post(f"/v1/airings/{airing['airing_id']}/{path}", json=body, headers=PLANNER)
    else:
        scope = {"retitle": "this", "following": "following", "whole": "all"}[e.kind]
        body = {"scope": scope, **e.changes} | ({"occurrence": e.key.isoformat()} if e.key else {})
        answer = await client.post(f"/v1/series/{series_id}/revision", json=body, headers=PLANNER)
    assert answer.status == 200, f"{e}: {await answer.text()}"


def api_view(items: list[dict], start: datetime, end: datetime) -> set[tuple[datetime, str]]:
    return {
        (local(a["starts_at"]), a["title"])
        for a in items
        if a["status"] in ("scheduled", "rescheduled") and start <= local(a["starts_at"]) < end
    }


def ics_view(ics: bytes, start: datetime, end: datetime) -> set[tuple[datetime, str]]:
    window = (start.replace(tzinfo=VIETNAM), end.replace(tzinfo=VIETNAM))
    return {
        (e["DTSTART"].dt.astimezone(VIETNAM).replace(tzinfo=None), str(e["SUMMARY"]).removesuffix(LANGUAGE))
        for e in recurring_ical_events.of(Calendar.from_ical(ics)).between(*window)
        if str(e.get("STATUS")) != "CANCELLED"
    }


async def views(client, resource_id: str, m: datetime, expected: Expected) -> tuple[dict[str, set], int]:
    """The three views over the compared window, and how many overriding VEVENTs the feed has."""
    start, end = m - timedelta(days=1), m + SPAN
    params = {
        "from": start.replace(tzinfo=VIETNAM).isoformat(),
        "to": end.replace(tzinfo=VIETNAM).isoformat(),
    }
    feed = await client.get(f"/v1/resources/{resource_id}/calendar.ics", params=params, headers=VIEWER)
    assert feed.status == 200, await feed.text()
    ics = await feed.read()
    return {
        "dateutil": expected.occurrences(start, end),
        "api": api_view(await listed(client, resource_id, m), start, end),
        "ics": ics_view(ics, start, end),
    }, ics.count(b"RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh:")


async def test_dateutil_the_api_and_the_expanded_feed_agree_after_every_edit_kind(client):
    m = next_monday()
    disagreements = []
    for number, (name, (edits, expected)) in enumerate(scenarios(m).items()):
        resource_id = f"loudspeaker:xa-thu-nghiem-{number}"
        await register(
            client, resource_id, commune(f"Xã Thử Nghiệm {number}", ["Kinh"], code=f"2490{number}")
        )
        definition, by_hand = base(m)
        created = await client.post("/v1/series", json={"resource_id": resource_id, "kind": "loudspeaker",
                                                        **definition}, headers=PLANNER)  # fmt: skip
        assert created.status == 201, await created.text()
        series_id = (await created.json())["series_id"]
        for e in [*by_hand, *edits]:
            await edit(client, series_id, resource_id, m, e)
        seen, overriding = await views(client, resource_id, m, expected)
        assert len(seen["dateutil"]) >= 9, name  # six weeks of Mondays and Thursdays, a few left out
        if not seen["dateutil"] == seen["api"] == seen["ics"]:
            disagreements.append((name, {k: sorted(v ^ seen["dateutil"]) for k, v in seen.items()}))
        # Overrides are published as overriding VEVENTs (RECURRENCE-ID), never as EXDATE + a lone event.
        if overriding != len(expected.moved.keys() | expected.titled.keys()):
            disagreements.append((name, {"overriding VEVENTs": overriding}))
    assert disagreements == []
