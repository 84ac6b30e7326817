"""Every kind of series edit, and what python-dateutil says the series is after each one.

Shared by the domain's unit test (tests/unit/scheduler/test_series_overrides.py) and the API + .ics
integration test (tests/integration/test_series_views.py), so the three views are held to one
expectation. Times are local wall-clock times (Asia/Ho_Chi_Minh) relative to a Monday ``M`` at 06:00.

Every series starts the same way: Mondays and Thursdays at 06:00, one Thursday left out by an EXDATE,
one Thursday cancelled by hand, one Monday moved by hand to 07:30 and one Thursday retitled by hand.
Each scenario then makes one edit (or two), and names the series dateutil should give: its parts
(rule, first start, end, title) and its exceptions keyed by RECURRENCE-ID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dateutil.rrule import rrulestr

TITLE = "Bản tin sáng: BHXH tự nguyện"
OWN = "Bản tin sáng: chuyên đề BHYT học sinh"  # the Thursday retitled by hand
RULE = "FREQ=WEEKLY;BYDAY=MO,TH"
DURATION = timedelta(minutes=15)
DAY = timedelta(days=1)
SPAN = 42 * DAY  # the compared window: six weeks from M


def at(m: datetime, days: float, hh: int = 6, mm: int = 0) -> datetime:
    """``days`` after Monday ``m``, at hh:mm local."""
    return (m + timedelta(days=days)).replace(hour=hh, minute=mm)


@dataclass(frozen=True)
class Edit:
    """One planner's action: ``move`` / ``cancel`` / ``retitle`` ("this one", by RECURRENCE-ID),
    ``following`` (this and following, from ``key``), ``whole`` (the whole series)."""

    kind: str
    key: datetime | None = None
    to: datetime | None = None  # move: the new local start
    changes: dict = field(default_factory=dict)  # following / whole: definition fields (JSON values)


@dataclass(frozen=True)
class Expected:
    """The series as dateutil gives it, with its exceptions by RECURRENCE-ID."""

    parts: list[tuple[str, datetime, datetime, str]]  # rule, DTSTART, end (exclusive), title
    exdates: set[datetime]
    cancelled: set[datetime]
    moved: dict[datetime, datetime]  # RECURRENCE-ID -> its start, moved by hand
    titled: dict[datetime, str]  # RECURRENCE-ID -> its own title

    def occurrences(self, start: datetime, end: datetime) -> set[tuple[datetime, str]]:
        """(local start, title) of every occurrence that airs, starting in [start, end)."""
        series: dict[datetime, tuple[datetime, str]] = {}
        for rule, dtstart, until, title in self.parts:
            text = f"DTSTART:{dtstart:%Y%m%dT%H%M%S}\nRRULE:{rule}"
            for d in rrulestr(text).between(dtstart, until, inc=True):
                if d < until:
                    series[d] = (d, title)
        for key in self.exdates | self.cancelled:
            series.pop(key, None)
        for key, moved_to in self.moved.items():
            if key in series:
                series[key] = (moved_to, series[key][1])
        for key, title in self.titled.items():
            if key in series:
                series[key] = (series[key][0], title)
        return {(s, title) for s, title in series.values() if start <= s < end}


def base(m: datetime) -> tuple[dict, list[Edit]]:
    """The series every scenario starts from, and the planner's choices made on it by hand."""
    definition = {"rule": RULE, "first_start": at(m, 0).isoformat(), "duration_minutes": 15, "title": TITLE,
                  "language": "Kinh", "exdates": [at(m, 3).isoformat()]}  # fmt: skip
    by_hand = [
        Edit("cancel", at(m, 17)),
        Edit("move", at(m, 21), to=at(m, 21, 7, 30)),
        Edit("retitle", at(m, 24), changes={"title": OWN}),
    ]
    return definition, by_hand


def _expected(m: datetime, **changes) -> Expected:
    before = Expected(
        parts=[(RULE, at(m, 0), at(m, 60), TITLE)],
        exdates={at(m, 3)},
        cancelled={at(m, 17)},
        moved={at(m, 21): at(m, 21, 7, 30)},
        titled={at(m, 24): OWN},
    )
    return Expected(**(before.__dict__ | changes))


def scenarios(m: datetime) -> dict[str, tuple[list[Edit], Expected]]:
    """Each edit kind, as the planner makes it, and the series it must give."""
    e = _expected(m)
    earlier = -timedelta(hours=6, minutes=30)  # Mon 06:00 -> the Sunday before at 23:30
    later = timedelta(days=4, minutes=30)  # Thu 06:00 -> the Monday after at 06:30
    follow_earlier = Edit(
        "following",
        at(m, 14),
        changes={"rule": "FREQ=WEEKLY;BYDAY=SU,WE", "first_start": at(m, 13, 23, 30).isoformat()},
    )
    split = at(m, 13, 23, 30)
    after_earlier = _expected(
        m,
        parts=[(RULE, at(m, 0), split, TITLE), ("FREQ=WEEKLY;BYDAY=SU,WE", split, at(m, 60), TITLE)],
        cancelled={at(m, 17) + earlier},
        moved={at(m, 21) + earlier: at(m, 21, 7, 30)},
        titled={at(m, 24) + earlier: OWN},
    )
    return {
        "this one earlier": (
            [Edit("move", at(m, 28), to=at(m, 28, 5, 0))],
            _expected(m, moved=e.moved | {at(m, 28): at(m, 28, 5, 0)}),
        ),
        "this one later": (
            [Edit("move", at(m, 28), to=at(m, 28, 8, 0))],
            _expected(m, moved=e.moved | {at(m, 28): at(m, 28, 8, 0)}),
        ),
        "this one cancelled": (
            [Edit("cancel", at(m, 31))],
            _expected(m, cancelled=e.cancelled | {at(m, 31)}),
        ),
        "this one retitled": (
            [Edit("retitle", at(m, 31), changes={"title": "Bản tin sáng: số đặc biệt"})],
            _expected(m, titled=e.titled | {at(m, 31): "Bản tin sáng: số đặc biệt"}),
        ),
        "this and following earlier, across a week boundary": ([follow_earlier], after_earlier),
        "this and following later, across a week boundary": (
            [
                Edit(
                    "following",
                    at(m, 10),
                    changes={"rule": "FREQ=WEEKLY;BYDAY=MO,FR", "first_start": at(m, 14, 6, 30).isoformat()},
                )
            ],
            _expected(
                m,
                parts=[
                    (RULE, at(m, 0), at(m, 10), TITLE),
                    ("FREQ=WEEKLY;BYDAY=MO,FR", at(m, 14, 6, 30), at(m, 60), TITLE),
                ],
                cancelled={at(m, 17) + later},
                moved={at(m, 21) + later: at(m, 21, 7, 30)},
                titled={at(m, 24) + later: OWN},
            ),
        ),
        "this and following retitled": (
            [Edit("following", at(m, 21), changes={"title": "Bản tin sáng: Luật BHXH 2024"})],
            _expected(
                m,
                parts=[
                    (RULE, at(m, 0), at(m, 21), TITLE),
                    (RULE, at(m, 21), at(m, 60), "Bản tin sáng: Luật BHXH 2024"),
                ],
            ),
        ),
        "whole series to another time": (
            [Edit("whole", changes={"first_start": at(m, 0, 6, 45).isoformat()})],
            _expected(
                m,
                parts=[(RULE, at(m, 0, 6, 45), at(m, 60), TITLE)],
                exdates={at(m, 3, 6, 45)},
                cancelled={at(m, 17, 6, 45)},
                moved={at(m, 21, 6, 45): at(m, 21, 7, 30)},
                titled={at(m, 24, 6, 45): OWN},
            ),
        ),
        "whole series retitled, a moved and a retitled override kept": (
            [Edit("whole", changes={"title": "Bản tin sáng (mới)"})],
            _expected(m, parts=[(RULE, at(m, 0), at(m, 60), "Bản tin sáng (mới)")]),
        ),
        "whole series retitled after this and following moved earlier": (
            [follow_earlier, Edit("whole", changes={"title": "Bản tin sáng (mới)"})],
            Expected(
                parts=[
                    (rule, start, end, "Bản tin sáng (mới)") for rule, start, end, _ in after_earlier.parts
                ],
                exdates=after_earlier.exdates,
                cancelled=after_earlier.cancelled,
                moved=after_earlier.moved,
                titled=after_earlier.titled,
            ),
        ),
    }
