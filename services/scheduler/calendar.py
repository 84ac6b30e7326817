"""iCalendar (RFC 5545) feeds of airings, subscribable from a phone's calendar.

Events carry local times with TZID Asia/Ho_Chi_Minh and its VTIMEZONE, so a
phone shows 17:30 whatever zone it is in; cancelled and bumped airings stay in
the feed as STATUS:CANCELLED so subscribers see them go.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar, Event

from services.common.localtime import to_local

GONE = {"cancelled", "bumped"}


def feed(
    name: str, airings: Iterable[Any], *, now: datetime | None = None, places: dict[str, str] | None = None
) -> bytes:
    """An .ics body for ``airings`` (rows or views with the AiringView fields).

    ``places`` names resources (``Xã Ea Tu``) for the events' LOCATION; ids are the fallback.
    """
    places = places or {}
    calendar = Calendar()
    calendar.add("prodid", "-//Loa//Lịch phát thanh//VI")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    stamp = now or datetime.now(UTC)
    for a in airings:
        event = Event()
        event.add("uid", f"{a['airing_id']}@loa")
        event.add("dtstamp", stamp)
        event.add("dtstart", to_local(a["starts_at"]))
        event.add("dtend", to_local(a["ends_at"]))
        language = f" ({a['language']})" if a["language"] else ""
        event.add("summary", f"{a['title']}{language}")
        event.add("location", places.get(a["resource_id"], a["resource_id"]))
        event.add("categories", [a["kind"]])
        if a["script"]:
            event.add("description", a["script"])
        event.add("status", "CANCELLED" if a["status"] in GONE else "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
