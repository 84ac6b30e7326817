"""The .ics of a series, expanded by recurring-ical-events, gives exactly the occurrences that air:
rule, EXDATE, RDATE, moved and cancelled occurrences, a window cut, COUNT, another zone (no IO)."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar

from contracts.events.series import SeriesDefinition
from services.scheduler.adapters.ics_feed import SeriesPlan, Window, feed

SERIES = uuid.UUID("9a4f6c1e-0000-4000-8000-000000000001")
RESOURCE = "loudspeaker:xa-ea-tu"


def plan(rule: str, first: datetime, zone: str = "Asia/Ho_Chi_Minh", **more) -> SeriesPlan:
    definition = SeriesDefinition(rule=rule, first_start=first, duration_minutes=15, zone=zone,
                                  title="Bản tin", language="Kinh", **more)  # fmt: skip
    return SeriesPlan(SERIES, RESOURCE, definition, first, None, None, position=1)


def airing(local: datetime, zone: str = "Asia/Ho_Chi_Minh", *, moved_to: datetime | None = None, **more):
    tz = ZoneInfo(zone)
    start = (moved_to or local).replace(tzinfo=tz).astimezone(UTC)
    return {
        "airing_id": uuid.uuid5(SERIES, local.isoformat()), "resource_id": RESOURCE, "kind": "loudspeaker",
        "starts_at": start, "ends_at": start + timedelta(minutes=15), "title": "Bản tin", "language": "Kinh",
        "script": None, "series_id": SERIES, "recurrence_id": local, "status": "scheduled", "position": 2,
    } | more  # fmt: skip


def expanded(ics: bytes, window: Window) -> list[tuple[datetime, str]]:
    events = recurring_ical_events.of(Calendar.from_ical(ics)).between(window.start, window.end)
    return sorted(
        (e["DTSTART"].dt.astimezone(UTC), str(e["SUMMARY"]))
        for e in events
        if str(e.get("STATUS")) != "CANCELLED"
    )


def test_moved_cancelled_skipped_and_excluded_occurrences():
    first = datetime(2026, 12, 2, 17, 0)  # a Wednesday
    series = plan("FREQ=WEEKLY;BYDAY=MO,WE,FR", first, exdates=[datetime(2026, 12, 7, 17, 0)],
                  rdates=[datetime(2026, 12, 6, 9, 0)])  # fmt: skip
    series = SeriesPlan(**{**series.__dict__, "through": datetime(2026, 12, 14, tzinfo=UTC)})
    moved = airing(datetime(2026, 12, 4, 17, 0), moved_to=datetime(2026, 12, 4, 18, 0))
    rows = [
        airing(first),
        moved,
        airing(datetime(2026, 12, 6, 9, 0)),
        airing(datetime(2026, 12, 9, 17, 0), status="cancelled"),
        # 11/12 was skipped (its window was taken): no airing although scheduled up to 14/12
    ]
    window = Window(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 21, tzinfo=UTC))
    ics = feed("Loa — Xã Ea Tu", window, rows, [series], stamps={1: datetime(2026, 11, 30, 9, tzinfo=UTC)})
    local = [
        (t.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d %H:%M"), s) for t, s in expanded(ics, window)
    ]
    assert local == [
        ("02 17:00", "Bản tin (Kinh)"),
        ("04 18:00", "Bản tin (Kinh)"),  # moved by hand: a RECURRENCE-ID override
        ("06 09:00", "Bản tin (Kinh)"),  # RDATE
        # 07 excluded by the planner, 09 cancelled, 11 skipped
        ("14 17:00", "Bản tin (Kinh)"),  # past the horizon: the rule says so
        ("16 17:00", "Bản tin (Kinh)"),
        ("18 17:00", "Bản tin (Kinh)"),
    ]
    text = ics.decode()
    assert text.count("BEGIN:VEVENT") == 2 and "DTSTAMP:20261130T090000Z" in text
    assert ics == feed(
        "Loa — Xã Ea Tu", window, rows, [series], stamps={1: datetime(2026, 11, 30, 9, tzinfo=UTC)}
    )


def test_a_count_rule_cut_to_the_window_keeps_its_own_occurrences():
    series = plan("FREQ=DAILY;COUNT=10", datetime(2026, 12, 1, 6, 0))
    window = Window(datetime(2026, 12, 5, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    days = [
        t.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).day
        for t, _ in expanded(feed("x", window, [], [series]), window)
    ]
    # the window opens at 07:00 local on the 5th; the 10 occurrences end on the 10th wherever it opens
    assert days == [6, 7, 8, 9, 10]


def test_wall_clock_across_a_daylight_saving_change():
    london = ZoneInfo("Europe/London")
    series = plan("FREQ=WEEKLY;BYDAY=SU", datetime(2026, 3, 22, 9, 0), zone="Europe/London")
    window = Window(datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC))
    starts = [
        t.astimezone(london).strftime("%m-%d %H:%M")
        for t, _ in expanded(feed("x", window, [], [series]), window)
    ]
    assert starts == ["03-22 09:00", "03-29 09:00", "04-05 09:00"]  # 09:00 on both sides of 29 March


def test_a_single_airing_reads_back_whole():
    script = "Kính thưa bà con; Luật BHXH năm 2024, có hiệu lực từ 1/7/2025.\nXin mời nghe: " + "ư" * 80
    row = airing(
        datetime(2026, 12, 2, 17, 0), series_id=None, recurrence_id=None, script=script, title="Họp, dân"
    )
    window = Window(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 21, tzinfo=UTC))
    ics = feed("Loa — Xã Ea Tu", window, [row], [], places={RESOURCE: "Xã Ea Tu"})
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))
    calendar = Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    assert str(event["DESCRIPTION"]) == script and str(event["SUMMARY"]) == "Họp, dân (Kinh)"
    assert (
        event["DTSTART"].dt.isoformat() == "2026-12-02T17:00:00+07:00"
        and str(event["LOCATION"]) == "Xã Ea Tu"
    )
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]


def test_an_occurrence_replaced_by_a_revision_is_shown_once():
    first = datetime(2026, 12, 2, 17, 0)
    series = plan("FREQ=WEEKLY;BYDAY=WE", first)
    old = airing(first, status="cancelled", position=2)
    new = airing(first, airing_id=uuid.uuid4(), title="Bản tin mới", position=5)
    window = Window(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC))
    for rows in ([old, new], [new, old]):
        assert [s for _, s in expanded(feed("x", window, rows, [series]), window)] == ["Bản tin mới (Kinh)"]


def test_an_occurrence_moved_by_hand_across_a_week_boundary_is_an_override_not_an_exdate():
    # A series on Sundays 23:30 (moved there from Mondays 06:00 by "this and following"), whose
    # occurrence of Sunday 13/12 the planner had moved to Monday 14/12 07:30 and retitled.
    first = datetime(2026, 12, 6, 23, 30)
    series = plan("FREQ=WEEKLY;BYDAY=SU", first)
    moved = airing(datetime(2026, 12, 13, 23, 30), moved_to=datetime(2026, 12, 14, 7, 30),
                   status="rescheduled", title="Bản tin: số đặc biệt")  # fmt: skip
    rows = [airing(first), moved, airing(datetime(2026, 12, 20, 23, 30))]
    window = Window(datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 21, tzinfo=UTC))
    ics = feed("Loa — Xã Ea Tu", window, rows, [series])
    text = ics.decode()
    assert text.count("BEGIN:VEVENT") == 2 and "EXDATE" not in text
    assert "RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh:20261213T233000" in text
    assert "DTSTART;TZID=Asia/Ho_Chi_Minh:20261214T073000" in text
    vietnam = ZoneInfo("Asia/Ho_Chi_Minh")
    assert [(t.astimezone(vietnam).strftime("%d %H:%M"), s) for t, s in expanded(ics, window)] == [
        ("06 23:30", "Bản tin (Kinh)"),
        ("14 07:30", "Bản tin: số đặc biệt (Kinh)"),
        ("20 23:30", "Bản tin (Kinh)"),
    ]
