"""iCalendar (RFC 5545) feeds of airings, subscribable from a phone's calendar.

A series is published as RFC 5545 models it: one VEVENT with RRULE, EXDATE and
RDATE, plus an overriding VEVENT (same UID, RECURRENCE-ID) for each occurrence
moved or changed by hand; an occurrence cancelled or bumped is an EXDATE. So a
phone shows the whole series over the feed's window, not only the occurrences
already scheduled. Single airings are plain VEVENTs; cancelled and bumped ones
stay as STATUS:CANCELLED so subscribers see them go.

The feed covers one window completely (no item in it is left out) and names it
in X-WR-CALDESC. The series VEVENT is cut to the window (DTSTART its first
occurrence in it, UNTIL its last), so no occurrence outside the window is
published without its exceptions. DTSTAMP is the time of the item's last change
(from the event store), never "now": an unchanged feed is the same bytes.

Events carry local times with their zone's TZID and VTIMEZONE, so a phone shows
17:30 whatever zone it is in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone
from icalendar.prop import vRecur

from contracts.events.series import SeriesDefinition
from contracts.localtime import VIETNAM, to_local
from services.scheduler.domain.recurrence import InvalidRecurrence, Occurrence
from services.scheduler.domain.series import recurrence_of

GONE = {"cancelled", "bumped"}
BACK = timedelta(days=30)
AHEAD = timedelta(days=365)
LONGEST = timedelta(days=5 * 366)
"""A feed covers at most this long a window (a daily series over it is some 1,800 events; a
commune's loudspeakers at six airings a day some 11,000)."""


@dataclass(frozen=True)
class Window:
    """The instants a feed covers: airings starting in [start, end), in full."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, now: datetime, start: datetime | None = None, end: datetime | None = None) -> Window:
        """The given bounds, or the default: from 30 days back to 365 days ahead of today (local days,
        so the window, and with it the feed's bytes, stays the same all day)."""
        today = datetime.combine(now.astimezone(VIETNAM).date(), datetime.min.time(), VIETNAM)
        return cls(
            (start or today - BACK).astimezone(UTC),
            (end or today + AHEAD + timedelta(days=1)).astimezone(UTC),
        )

    def describe(self) -> str:
        first, last = to_local(self.start), to_local(self.end)
        return f"{first:%Y-%m-%d %H:%M} … {last:%Y-%m-%d %H:%M} (Asia/Ho_Chi_Minh)"


@dataclass(frozen=True)
class SeriesPlan:
    """A series row of the catalogue, as the feed needs it."""

    series_id: Any
    resource_id: str
    definition: SeriesDefinition
    effective_from: datetime  # naive local: the current definition applies from this occurrence on
    ended_from: datetime | None  # naive local: no occurrence from here on
    through: datetime | None  # aware: its airings are scheduled up to here
    position: int

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> SeriesPlan:
        return cls(
            series_id=row["series_id"],
            resource_id=row["resource_id"],
            definition=SeriesDefinition.model_validate(row["definition"]),
            effective_from=row["effective_from"],
            ended_from=row["ended_from"],
            through=row["through"],
            position=row["position"],
        )


def feed(
    name: str,
    window: Window,
    airings: Iterable[Mapping[str, Any]],
    series: Iterable[SeriesPlan] = (),
    *,
    stamps: Mapping[int, datetime] | None = None,
    places: Mapping[str, str] | None = None,
) -> bytes:
    """An .ics body for ``airings`` (rows with the AiringView fields and ``position``) and ``series``.

    ``stamps`` maps event-store positions to their recorded time (the items' DTSTAMP); ``places``
    names resources (``Xã Ea Tu``) for the events' LOCATION, ids being the fallback.
    """
    places = places or {}
    stamps = stamps or {}
    calendar = Calendar()
    calendar.add("prodid", "-//Loa//Lịch phát thanh//VI")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Ho_Chi_Minh")
    calendar.add("x-wr-caldesc", f"{name}: mọi lượt phát bắt đầu trong {window.describe()}")
    rows = list(airings)
    by_series: dict[Any, list[Mapping[str, Any]]] = {}
    for a in rows:
        if a["series_id"] is not None:
            by_series.setdefault(a["series_id"], []).append(a)
    published: set[Any] = set()
    for plan in series:
        own = by_series.get(plan.series_id, [])
        for component, covered in _series(plan, own, window, stamps, places):
            calendar.add_component(component)
            published |= covered
    calendar.add_missing_timezones()
    if not any(str(tz["TZID"]) == VIETNAM.key for tz in calendar.walk("VTIMEZONE")):
        calendar.add_component(Timezone.from_tzid(VIETNAM.key))
    # Single airings are most of a big feed: written here, line by line, at a fraction of the
    # cost of one icalendar component each (20,400 of them: 15 s that way).
    singles = "".join(
        _plain(a, stamps, places)
        for a in rows
        if a["airing_id"] not in published and window.start <= a["starts_at"] < window.end
    )
    head, end = calendar.to_ical().rsplit(b"END:VCALENDAR", 1)
    return head + singles.encode() + b"END:VCALENDAR" + end


def _plain(a: Mapping[str, Any], stamps: Mapping[int, datetime], places: Mapping[str, str]) -> str:
    """One single airing as a VEVENT, the same properties as ``_airing`` gives."""
    language = f" ({a['language']})" if a["language"] else ""
    lines = [
        "BEGIN:VEVENT",
        f"SUMMARY:{_text(a['title'] + language)}",
        f"DTSTART;TZID={VIETNAM.key}:{to_local(a['starts_at']):%Y%m%dT%H%M%S}",
        f"DTEND;TZID={VIETNAM.key}:{to_local(a['ends_at']):%Y%m%dT%H%M%S}",
        f"DTSTAMP:{_stamp(stamps, a['position']).astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"UID:{a['airing_id']}@loa",
        f"CATEGORIES:{_text(a['kind'])}",
    ]
    if a["script"]:
        lines.append(f"DESCRIPTION:{_text(a['script'])}")
    lines.append(f"LOCATION:{_text(places.get(a['resource_id'], a['resource_id']))}")
    lines.append(f"STATUS:{'CANCELLED' if a['status'] in GONE else 'CONFIRMED'}")
    lines.append("END:VEVENT")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _text(value: str) -> str:
    """An RFC 5545 TEXT value (3.3.11)."""
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    )  # fmt: skip


def _fold(line: str) -> str:
    """Lines longer than 75 octets folded (RFC 5545 3.1), never inside a UTF-8 character."""
    if len(line.encode()) <= 75:
        return line
    parts, chunk, size, room = [], [], 0, 75
    for char in line:
        octets = len(char.encode())
        if size + octets > room:
            parts.append("".join(chunk))
            chunk, size, room = [], 0, 74  # a continuation line starts with a space
        chunk.append(char)
        size += octets
    parts.append("".join(chunk))
    return "\r\n ".join(parts)


def _stamp(stamps: Mapping[int, datetime], *positions: int) -> datetime:
    known = [stamps[p] for p in positions if p in stamps]
    return max(known) if known else datetime(2000, 1, 1, tzinfo=UTC)


def _airing(a: Mapping[str, Any], uid: str, stamps, places, recurrence_id: datetime | None = None) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", _stamp(stamps, a["position"]))
    if recurrence_id is not None:
        event.add("recurrence-id", recurrence_id)
    event.add("dtstart", to_local(a["starts_at"]))
    event.add("dtend", to_local(a["ends_at"]))
    language = f" ({a['language']})" if a["language"] else ""
    event.add("summary", f"{a['title']}{language}")
    event.add("location", places.get(a["resource_id"], a["resource_id"]))
    event.add("categories", [a["kind"]])
    if a["script"]:
        event.add("description", a["script"])
    event.add("status", "CANCELLED" if a["status"] in GONE else "CONFIRMED")
    return event


def _series(
    plan: SeriesPlan,
    airings: list[Mapping[str, Any]],
    window: Window,
    stamps: Mapping[int, datetime],
    places: Mapping[str, str],
) -> list[tuple[Event, set[Any]]]:
    """The series' VEVENT cut to the window and its overrides, each with the airings it covers.

    Airings of earlier definitions (before ``effective_from``) are not covered: they go out as
    plain VEVENTs, as they were planned.
    """
    d = plan.definition
    zone = ZoneInfo(d.zone)
    start = max(window.start, plan.effective_from.replace(tzinfo=zone).astimezone(UTC))
    end = window.end
    if plan.ended_from is not None:
        end = min(end, plan.ended_from.replace(tzinfo=zone).astimezone(UTC))
    if start >= end:
        return []
    recurrence = recurrence_of(d)
    try:
        planned = recurrence.between(start, end)
        ruled = replace(recurrence, exdates=frozenset(), rdates=frozenset()).between(start, end)
    except InvalidRecurrence:
        return []  # its scheduled airings still go out, one VEVENT each
    scheduled: dict[datetime, Mapping[str, Any]] = {}
    for a in sorted(airings, key=lambda a: (a["status"] not in GONE, a["position"])):
        if a["recurrence_id"] is not None:
            # A revision may replace an occurrence's airing: the one that still holds the slot wins.
            scheduled[a["recurrence_id"]] = a
    shown: list[Occurrence] = []
    for o in planned:
        a = scheduled.get(o.local_start)
        if a is not None and a["status"] in GONE:
            continue  # cancelled or bumped by hand: an EXDATE
        if a is None and plan.through is not None and o.starts_at <= plan.through:
            continue  # within the scheduled horizon but not scheduled (skipped: its window was taken)
        shown.append(o)
    if not shown:
        return []
    local = {o.local_start for o in shown}
    covered = {
        a["airing_id"]
        for a in airings
        if a["recurrence_id"] is not None
        and (a["recurrence_id"] in local or _excluded(a["recurrence_id"], planned, local))
    }
    uid = f"series-{plan.series_id}@loa"
    master = Event()
    master.add("uid", uid)
    own_positions = [a["position"] for a in airings if a["airing_id"] in covered]
    master.add("dtstamp", _stamp(stamps, plan.position, *own_positions))
    rule_starts = [o.local_start for o in ruled]
    first = rule_starts[0] if rule_starts else min(local)
    master.add("dtstart", first.replace(tzinfo=zone))
    master.add("duration", timedelta(minutes=d.duration_minutes))
    if rule_starts:
        # COUNT counts from the series' own first start: the cut rule ends with UNTIL instead.
        parts = d.rule.removeprefix("RRULE:").split(";")
        parts = [p for p in parts if not p.upper().startswith(("COUNT", "UNTIL"))]
        last = rule_starts[-1].replace(tzinfo=zone).astimezone(UTC)
        parts.append(f"UNTIL={last:%Y%m%dT%H%M%SZ}")
        master.add("rrule", vRecur.from_ical(";".join(parts)))
    exdates = sorted(set(rule_starts) - local)
    if exdates:
        master.add("exdate", [x.replace(tzinfo=zone) for x in exdates])
    rdates = sorted(local - set(rule_starts) - {first})
    if rdates:
        master.add("rdate", [x.replace(tzinfo=zone) for x in rdates])
    language = f" ({d.language})" if d.language else ""
    master.add("summary", f"{d.title}{language}")
    master.add("location", places.get(plan.resource_id, plan.resource_id))
    if d.script:
        master.add("description", d.script)
    master.add("status", "CONFIRMED")
    out = [(master, covered)]
    for o in shown:
        a = scheduled.get(o.local_start)
        if a is not None and _overridden(a, o, d):
            out.append((_airing(a, uid, stamps, places, o.local_start.replace(tzinfo=zone)), set()))
    return out


def _excluded(recurrence_id: datetime, planned: list[Occurrence], shown: set[datetime]) -> bool:
    """An airing of an occurrence the feed leaves out (an EXDATE): covered, so not published alone."""
    return recurrence_id not in shown and any(o.local_start == recurrence_id for o in planned)


def _overridden(a: Mapping[str, Any], o: Occurrence, d: SeriesDefinition) -> bool:
    """Whether the airing differs from what the series says of its occurrence (moved or changed)."""
    return (
        a["starts_at"] != o.starts_at
        or a["ends_at"] != o.ends_at
        or a["title"] != d.title
        or a["language"] != d.language
        or a["script"] != d.script
    )
