"""Decisions about series: plan, revise ("this and following" / whole), end, keep the horizon filled.

Each occurrence becomes an ordinary airing through the single-airing rules, so
overlaps and emergency bumps behave exactly as for airings planned one by one.
Planning and revising are all-or-nothing unless ``skip_conflicts`` is asked
for; extending the horizon runs unattended, so it always skips what is in the
way and records each skipped occurrence with the airings that hold its window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from contracts.base import Event
from contracts.events.schedule import AiringCancelled
from contracts.events.series import (
    SeriesDefinition,
    SeriesEnded,
    SeriesExtended,
    SeriesPlanned,
    SeriesRevised,
    SkippedOccurrence,
)
from services.scheduler.domain.airing_rules import check_owner, created_already
from services.scheduler.domain.airing_rules import schedule_airing as _schedule
from services.scheduler.domain.commands import (
    Command,
    EndSeries,
    ExtendSeries,
    PlanSeries,
    ReviseSeries,
    ReviseWholeSeries,
    ScheduleAiring,
)
from services.scheduler.domain.errors import Conflict, InvalidCommand, InvalidTransition, NotFound
from services.scheduler.domain.overrides import (
    ReviseOccurrence,
    Shift,
    carried,
    content_change,
    owned,
    revise_occurrence,
)
from services.scheduler.domain.recurrence import MAX_OCCURRENCES, Occurrence
from services.scheduler.domain.series import Segment, SeriesState, local_instant, occurrence_id, recurrence_of
from services.scheduler.domain.state import CONTENT, ResourceSchedule, Status, evolve


def decide(state: ResourceSchedule, command: Command) -> list[Event]:
    match command:
        case PlanSeries():
            return _plan(state, command)
        case ReviseSeries():
            return _revise(state, command)
        case ReviseWholeSeries():
            return _revise_whole(state, command)
        case ReviseOccurrence():
            return revise_occurrence(state, command)
        case EndSeries():
            return _end(state, command)
        case ExtendSeries():
            return _extend(state, command)
    raise TypeError(f"not a schedule command: {command!r}")


def _series(state: ResourceSchedule, series_id) -> SeriesState:
    one = state.series.get(series_id)
    if one is None:
        raise NotFound(f"no series {series_id} on {state.resource_id or 'this resource'}")
    return one


def _plan(state: ResourceSchedule, c: PlanSeries) -> list[Event]:
    check_owner(state, c.resource_id)
    recurrence_of(c.definition, new=True)  # refuse a bad rule before anything else
    planned = SeriesPlanned(
        series_id=c.series_id,
        resource_id=c.resource_id,
        kind=c.kind,
        campaign_id=c.campaign_id,
        definition=c.definition,
    )
    known = state.series.get(c.series_id)
    if created_already(None if known is None else known.planned, planned, f"series {c.series_id}"):
        return []
    after = evolve(state, planned)
    one = after.series[c.series_id]
    return [planned, *_materialise(after, one, one.start_instant(), c.through, skip=c.skip_conflicts)]


def _extend(state: ResourceSchedule, c: ExtendSeries) -> list[Event]:
    one = _series(state, c.series_id)
    start = one.through or one.start_instant()
    if c.through <= start:
        return []
    return _materialise(state, one, start, c.through, skip=True)


def _revise(state: ResourceSchedule, c: ReviseSeries) -> list[Event]:
    one = _series(state, c.series_id)
    _check_revision(one, c.effective_from)
    recurrence_of(c.definition, new=True)
    current = one.segment_at(c.effective_from)
    if current.effective_from == c.effective_from and current.definition == c.definition:
        return []  # the same revision again
    if _already(one, c):
        return []  # the same revision again, its exclusions carried
    effective_from, definition = _split(state, one, current, c)
    revised = SeriesRevised(
        series_id=c.series_id,
        resource_id=state.resource_id,
        effective_from=effective_from,
        definition=definition,
    )
    shift = Shift(c.effective_from, _shift(one, current, c))
    return _apply(state, c.series_id, effective_from, [revised], c.skip_conflicts, shift)


def _shift(one: SeriesState, current: Segment, c: ReviseSeries) -> timedelta:
    """How far "this and following" moves the occurrence it names (RFC 5545 RANGE=THISANDFUTURE):
    the new first_start is the named occurrence's new start. A first_start at or before the
    occurrence before it re-anchors the rule (the series' own date with a new time) and moves
    nothing; the series' first occurrence has none before it, so it moves either way."""
    first = c.definition.first_start
    if first == current.definition.first_start:
        return timedelta(0)
    before = [k for k in one.occurrences if k < c.effective_from]
    if before and first <= max(before):
        return timedelta(0)
    return first - c.effective_from


def _split(state: ResourceSchedule, one: SeriesState, current: Segment, c: ReviseSeries):
    """The new segment's start and definition: the split occurrence's new start when it moves earlier
    (the day keeps its airing), and every exclusion and cancellation after the split carried into it,
    moved by the same change, so none comes back. (Occurrences moved by hand are carried as overrides
    under their moved RECURRENCE-ID: ``_apply``.)"""
    delta = _shift(one, current, c)
    if not delta:
        return c.effective_from, c.definition
    given = c.definition
    exdates, rdates = set(given.exdates), set(given.rdates)
    if given.exdates == current.definition.exdates:  # exclusions the planner left as they were move along
        exdates = {x + delta if x >= c.effective_from else x for x in exdates}
    if given.rdates == current.definition.rdates:
        rdates = {x + delta if x >= c.effective_from else x for x in rdates}
    start = local_instant(c.effective_from, given.zone)
    produced = {o.local_start for _, o in one.between(start, one.through)} if one.through else set()
    for recurrence_id, airing_id in one.occurrences.items():
        if recurrence_id < c.effective_from or recurrence_id not in produced:
            continue
        if state.airings[airing_id].status is Status.cancelled:
            exdates.add(recurrence_id + delta)  # "this one" was the planner's choice: it stays theirs
    definition = given.model_copy(update={"exdates": sorted(exdates), "rdates": sorted(rdates)})
    return min(c.effective_from, given.first_start), definition


def _already(one: SeriesState, c: ReviseSeries) -> bool:
    """A split recorded already: a segment from the same occurrence (or its new, earlier start) with
    the same definition, give or take the exclusions it carried."""
    bounds = {c.effective_from, min(c.effective_from, c.definition.first_start)}
    fields = {"exdates", "rdates"}
    for before, segment in zip(one.segments, one.segments[1:], strict=False):
        if segment.effective_from in bounds and segment.definition.model_dump(
            exclude=fields
        ) == c.definition.model_dump(exclude=fields):
            given = (c.definition.exdates, c.definition.rdates)
            if given in ((segment.definition.exdates, segment.definition.rdates),
                         (before.definition.exdates, before.definition.rdates)):  # fmt: skip
                return True
    return False


def _revise_whole(state: ResourceSchedule, c: ReviseWholeSeries) -> list[Event]:
    one = _series(state, c.series_id)
    # "From now on" for a series that has not started yet means all of it.
    c = replace(c, effective_from=max(c.effective_from, one.segments[0].effective_from))
    _check_revision(one, c.effective_from)
    delta = _whole_shift(one, c.changes)
    changes = {k: v for k, v in c.changes.items() if k != "first_start"}
    following = [s.effective_from for s in one.segments[1:]] + [None]
    # Segments wholly in the past stay as they were.
    live = [
        s
        for s, until in zip(one.segments, following, strict=True)
        if until is None or until > c.effective_from
    ]
    starts = [_revised_from(s, c.effective_from, delta, first=i == 0) for i, s in enumerate(live)]
    revisions = []
    for i, segment in enumerate(live):
        until = starts[i + 1] if i + 1 < len(live) else None
        effective_from = max(segment.effective_from, c.effective_from)
        update = changes | _moved(state, one, segment, following[one.segments.index(segment)],
                                  Shift(effective_from, delta), c.changes)  # fmt: skip
        definition = _definition(segment.definition.model_dump() | update)
        if definition == segment.definition:
            continue
        recurrence_of(definition, new=True)
        revisions.append(
            SeriesRevised(
                series_id=c.series_id,
                resource_id=state.resource_id,
                effective_from=starts[i],
                until=until,
                definition=definition,
            )
        )
    if not revisions:
        return []
    shift = Shift(c.effective_from, delta)
    return _apply(state, c.series_id, c.effective_from, revisions, c.skip_conflicts, shift)


def _revised_from(segment: Segment, now: datetime, delta: timedelta, *, first: bool) -> datetime:
    """Where a segment's revision starts: from now on for the one in force now; a later one's start
    moves with the shift (the first one's only earlier: its own first occurrence must stay in it)."""
    start = max(segment.effective_from, now)
    if delta and segment.effective_from >= now and (not first or delta < timedelta(0)):
        start = max(segment.effective_from + delta, now)
    return start


def _definition(values: dict) -> SeriesDefinition:
    try:
        return SeriesDefinition.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidCommand(".".join(map(str, error["loc"])) or "definition", error["msg"]) from None


def _whole_shift(one: SeriesState, changes: dict) -> timedelta:
    """How far a whole-series change of ``first_start`` moves every occurrence: the planner gives the
    series' first start as they read it (the current definition's) at its new time."""
    if "first_start" not in changes:
        return timedelta(0)
    current = one.current.definition
    return _definition(current.model_dump() | {"first_start": changes["first_start"]}).first_start - (
        current.first_start
    )


def _moved(
    state: ResourceSchedule, one: SeriesState, segment: Segment, until, shift: Shift, given: dict
) -> dict[str, Any]:
    """A segment's first start, exclusions and cancellations moved by a whole-series shift, so that
    none comes back (RDATE and EXDATE the planner gave in the change are theirs as given)."""
    if not shift.by:
        return {}
    d = segment.definition
    update: dict[str, Any] = {"first_start": d.first_start + shift.by}
    exdates = set(d.exdates) if "exdates" in given else {shift(x) for x in d.exdates}
    for recurrence_id, airing_id in one.occurrences.items():
        mine = segment.effective_from <= recurrence_id and (until is None or recurrence_id < until)
        if mine and recurrence_id >= shift.start and state.airings[airing_id].status is Status.cancelled:
            exdates.add(shift(recurrence_id))
    update["exdates"] = sorted(exdates)
    if "rdates" not in given:
        update["rdates"] = sorted(shift(x) for x in d.rdates)
    return update


def _check_revision(one: SeriesState, effective_from: datetime) -> None:
    if effective_from < one.segments[0].effective_from:
        raise InvalidCommand("effective_from", "the series starts later")
    if one.ended_from is not None and effective_from >= one.ended_from:
        raise InvalidTransition(f"series {one.series_id} ended at {one.ended_from:%Y-%m-%d %H:%M}")


def _apply(
    state: ResourceSchedule,
    series_id,
    effective_from: datetime,
    revisions: list[SeriesRevised],
    skip: bool,
    shift: Shift | None = None,
) -> list[Event]:
    """The revisions, then: occurrences the new rules drop are cancelled, changed ones replaced.

    Overrides keep their own choices: one moved by hand keeps its window (and is carried, under its
    RECURRENCE-ID moved by ``shift``, into the revised series), one with content of its own keeps it;
    what the series changes in the other fields reaches both, where they stand."""
    before = state.series[series_id]
    own = owned(state, before)
    trial = state
    for revised in revisions:
        trial = evolve(trial, revised)
    start = local_instant(effective_from, trial.series[series_id].current.definition.zone)
    through = trial.series[series_id].through or start
    produced = {o.local_start for _, o in trial.series[series_id].between(start, through)}
    moved = carried(state, before, shift or Shift(effective_from), produced)
    if moved:
        revisions = [*revisions[:-1], revisions[-1].model_copy(update={"overrides": moved})]
    for revised in revisions:
        state = evolve(state, revised)
    one = state.series[series_id]
    wanted = {o.local_start: (segment, o) for segment, o in one.between(start, through)}
    events: list[Event] = list(revisions)
    replaced: set[datetime] = set()
    kept: dict[datetime, dict[str, Any]] = {}  # RECURRENCE-ID -> content its new airing keeps
    for recurrence_id, airing_id in sorted(one.occurrences.items()):
        airing = state.airings[airing_id]
        mine = own.get(airing_id, {})
        if recurrence_id < effective_from:
            continue  # history
        if airing.status is Status.rescheduled:
            # Moved by hand ("this airing"): its window is the planner's choice; what the series
            # says (a new title, script …) still reaches it, where it stands, unless it is its own.
            if recurrence_id in wanted:
                command = _occurrence_command(one, *wanted[recurrence_id])
                content = content_change(state, airing, _content(command) | mine)
                if content is not None:
                    state = evolve(state, content)
                    events.append(content)
            continue
        if airing.status is not Status.scheduled:
            continue  # live, already cancelled or bumped, or confirmed: left as it is
        if recurrence_id in wanted:
            command = replace(_occurrence_command(one, *wanted[recurrence_id]), **mine)
            if _same(airing.scheduled, command):
                continue
            where = (airing.starts_at, airing.ends_at, airing.priority)
            if where == (command.starts_at, command.ends_at, command.priority):
                # In its window still: the series' new content reaches the airing in place (same id,
                # its history one story), and content of its own stays its own.
                content = content_change(state, airing, _content(command))
                if content is not None:
                    state = evolve(state, content)
                    events.append(content)
                continue
            replaced.add(recurrence_id)
            kept[recurrence_id] = mine
        elif mine and shift is not None:
            kept[shift(recurrence_id)] = mine  # its replacement, moved by the change, keeps its own
        cancelled = AiringCancelled(
            airing_id=airing_id, resource_id=state.resource_id, reason="series revised"
        )
        state = evolve(state, cancelled)
        events.append(cancelled)
    one = state.series[series_id]
    if through > start:
        # Only skipped occurrences are news here: the horizon itself does not move.
        events += _materialise(state, one, start, through, skip=skip, again=replaced, mark=False, own=kept)
    return events


def _content(command: ScheduleAiring) -> dict[str, Any]:
    return {name: getattr(command, name) for name in CONTENT}


def _end(state: ResourceSchedule, c: EndSeries) -> list[Event]:
    one = _series(state, c.series_id)
    if one.ended_from is not None and one.ended_from <= c.effective_from:
        return []
    ended = SeriesEnded(
        series_id=c.series_id, resource_id=state.resource_id, effective_from=c.effective_from, reason=c.reason
    )
    events: list[Event] = [ended]
    for recurrence_id, airing_id in sorted(one.occurrences.items()):
        airing = state.airings[airing_id]
        if recurrence_id >= c.effective_from and airing.status in (Status.scheduled, Status.rescheduled):
            events.append(
                AiringCancelled(
                    airing_id=airing_id, resource_id=state.resource_id, reason=c.reason or "series ended"
                )
            )
    return events


def _occurrence_command(one: SeriesState, segment: Segment, o: Occurrence) -> ScheduleAiring:
    d: SeriesDefinition = segment.definition
    return ScheduleAiring(
        airing_id=occurrence_id(one.series_id, o.local_start, segment.revision),
        resource_id=one.planned.resource_id,
        kind=one.planned.kind,
        starts_at=o.starts_at,
        ends_at=o.ends_at,
        title=d.title,
        topic=d.topic,
        language=d.language,
        campaign_id=one.planned.campaign_id,
        series_id=one.series_id,
        recurrence_id=o.local_start,
        priority=d.priority,
        script=d.script,
        audio_ref=d.audio_ref,
    )


def _same(scheduled, command: ScheduleAiring) -> bool:
    """The occurrence's airing already says what the series says: its window, priority and content."""
    fields = ("starts_at", "ends_at", "priority", *CONTENT)
    return all(getattr(scheduled, f) == getattr(command, f) for f in fields)


def _materialise(
    state: ResourceSchedule,
    one: SeriesState,
    start: datetime,
    through: datetime,
    *,
    skip: bool,
    again: frozenset | set = frozenset(),
    mark: bool = True,
    own: Mapping[datetime, dict[str, Any]] | None = None,
) -> list[Event]:
    """Airings for the occurrences in [start, through) that have none yet, then SeriesExtended;
    ``own``: content that the new airing of an occurrence keeps from the override it replaces."""
    wanted = one.between(start, through)
    if len(wanted) > MAX_OCCURRENCES:
        raise InvalidCommand(
            "rule", f"produces {len(wanted)} airings up to the horizon; give a later first_start or an UNTIL"
        )
    events: list[Event] = []
    skipped: list[SkippedOccurrence] = []
    for segment, occurrence in wanted:
        if occurrence.local_start in one.occurrences and occurrence.local_start not in again:
            continue
        command = replace(
            _occurrence_command(one, segment, occurrence), **(own or {}).get(occurrence.local_start, {})
        )
        if command.airing_id in state.airings:
            continue
        try:
            new = _schedule(state, command)
        except Conflict as conflict:
            if not skip:
                raise
            skipped.append(
                SkippedOccurrence(
                    recurrence_id=occurrence.local_start,
                    starts_at=occurrence.starts_at,
                    conflicts=[a.airing_id for a in conflict.in_the_way],
                )
            )
            continue
        for event in new:
            state = evolve(state, event)
        events += new
    if mark or skipped:
        end = max(through, one.through) if one.through else through
        events.append(
            SeriesExtended(
                series_id=one.series_id, resource_id=one.planned.resource_id, through=end, skipped=skipped
            )
        )
    return events
