"""Series edits by RFC 5545's model, in the pure domain: after every edit kind, the airings that will
air (start, title) are the occurrences python-dateutil gives, and every override stands under its
RECURRENCE-ID in the revised series (tests/series_edits.py holds the scenarios)."""

from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from contracts.events.schedule import AiringKind
from contracts.events.series import SeriesDefinition, SeriesRevised
from contracts.localtime import to_local, to_utc
from services.scheduler.domain.commands import (
    CancelAiring,
    PlanSeries,
    RescheduleAiring,
    ReviseSeries,
    ReviseWholeSeries,
)
from services.scheduler.domain.errors import InvalidCommand
from services.scheduler.domain.overrides import ReviseOccurrence
from services.scheduler.domain.schedule import Status, decide, fold
from tests.series_edits import DURATION, SPAN, Edit, base, scenarios

M = datetime(2027, 1, 4, 6, 0)  # a Monday
SERIES = uuid4()
EA_TU = "loudspeaker:xa-ea-tu"


def run(state, command):
    return fold(decide(state, command), state)


def command(state, edit: Edit):
    """The planner's edit as the domain command the HTTP layer makes of it."""
    one = state.series[SERIES]
    match edit.kind:
        case "move":
            starts = to_utc(edit.to)
            return RescheduleAiring(one.occurrences[edit.key], starts, starts + DURATION)
        case "cancel":
            return CancelAiring(one.occurrences[edit.key], "mất điện")
        case "retitle":
            return ReviseOccurrence(SERIES, edit.key, edit.changes)
        case "following":  # the changes merged into the current definition
            current = one.current.definition.model_dump(mode="json")
            return ReviseSeries(SERIES, edit.key, SeriesDefinition.model_validate(current | edit.changes))
        case "whole":
            return ReviseWholeSeries(SERIES, M - timedelta(days=1), edit.changes)
    raise AssertionError(edit.kind)


def planned(edits: list[Edit]):
    definition, by_hand = base(M)
    through = to_utc(M + timedelta(days=60))
    state = run(fold([]), PlanSeries(SERIES, EA_TU, AiringKind.loudspeaker,
                                     SeriesDefinition.model_validate(definition), through))  # fmt: skip
    for edit in [*by_hand, *edits]:
        state = run(state, command(state, edit))
    return state


def airs(state) -> set[tuple[datetime, str]]:
    """(local start, title) of the series' airings that will air, in the compared window."""
    return {
        (to_local(a.starts_at).replace(tzinfo=None), a.title)
        for a in state.airings.values()
        if a.status in (Status.scheduled, Status.rescheduled)
        and M <= to_local(a.starts_at).replace(tzinfo=None) < M + SPAN
    }


@pytest.mark.parametrize("name", list(scenarios(M)))
def test_every_edit_kind_gives_the_occurrences_dateutil_gives(name):
    edits, expected = scenarios(M)[name]
    state = planned(edits)
    assert airs(state) == expected.occurrences(M, M + SPAN)
    one = state.series[SERIES]
    # Every override stands under its RECURRENCE-ID in the revised series, with its own choices.
    for key, starts in expected.moved.items():
        moved = state.airings[one.occurrences[key]]
        assert (moved.status, to_local(moved.starts_at).replace(tzinfo=None)) == (Status.rescheduled, starts)
    for key, title in expected.titled.items():
        assert state.airings[one.occurrences[key]].title == title
    for key in expected.cancelled:
        assert (
            key in one.current.definition.exdates
            or state.airings[one.occurrences[key]].status is Status.cancelled
        )
    # The last edit again records nothing (a retried request).
    before = planned(edits[:-1])
    assert decide(state, command(before, edits[-1])) == []


def test_a_moved_override_is_carried_by_a_split_that_shifts_time_not_left_as_an_exdate():
    edits, _ = scenarios(M)["this and following earlier, across a week boundary"]
    state = planned([])
    moved_airing = state.series[SERIES].occurrences[datetime(2027, 1, 25, 6, 0)]
    events = decide(state, command(state, edits[0]))
    [revised] = [e for e in events if isinstance(e, SeriesRevised)]
    assert [(o.airing_id, o.recurrence_id) for o in revised.overrides] == [
        (moved_airing, datetime(2027, 1, 24, 23, 30))
    ]
    assert datetime(2027, 1, 24, 23, 30) not in revised.definition.exdates
    assert datetime(2027, 1, 20, 23, 30) in revised.definition.exdates  # the one cancelled by hand


def test_this_one_changes_content_only_and_names_what_it_refuses():
    state = planned([])
    with pytest.raises(InvalidCommand) as refused:
        decide(
            state, ReviseOccurrence(SERIES, datetime(2027, 1, 11, 6, 0), {"first_start": "2027-01-11T07:00"})
        )
    assert refused.value.field == "first_start"
    with pytest.raises(InvalidCommand) as refused:
        decide(state, ReviseOccurrence(SERIES, datetime(2027, 1, 11, 6, 30), {"title": "Khác"}))
    assert refused.value.field == "occurrence"
    with pytest.raises(InvalidCommand) as refused:
        decide(state, ReviseOccurrence(SERIES, datetime(2027, 1, 11, 6, 0), {"title": ""}))
    assert refused.value.field == "title"
