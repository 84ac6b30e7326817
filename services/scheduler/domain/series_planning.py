"""Decisions about series: plan, revise ("this and following" / whole), end, keep the horizon filled.

Each occurrence becomes an ordinary airing through the single-airing rules, so
overlaps and emergency bumps behave exactly as for airings planned one by one.
Planning and revising are all-or-nothing unless ``skip_conflicts`` is asked
for; extending the horizon runs unattended, so it always skips what is in the
way and records each skipped occurrence with the airings that hold its window.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from pydantic import ValidationError

from contracts.base import Event
from contracts.events.schedule import AiringCancelled, AiringContentChanged
from contracts.events.series import (
    SeriesDefinition,
    SeriesEnded,
    SeriesExtended,
    SeriesPlanned,
    SeriesRevised,
    SkippedOccurrence,
)
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
    if state.resource_id is not None and state.resource_id != c.resource_id:
        raise InvalidCommand("resource_id", f"this schedule belongs to {state.resource_id}")
    recurrence_of(c.definition, new=True)  # refuse a bad rule before anything else
    planned = SeriesPlanned(
        series_id=c.series_id,
        resource_id=c.resource_id,
        kind=c.kind,
        campaign_id=c.campaign_id,
        definition=c.definition,
    )
    known = state.series.get(c.series_id)
    if known is not None:
        if known.planned == planned:
            return []
        raise InvalidTransition(f"series {c.series_id} already exists with other details")
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
    return _apply(state, c.series_id, effective_from, [revised], c.skip_conflicts)


def _shift(current: Segment, c: ReviseSeries) -> timedelta:
    """How far "this and following" moves the occurrence it names (RFC 5545 RANGE=THISANDFUTURE):
    the new first_start is the named occurrence's new start."""
    first = c.definition.first_start
    if first == current.definition.first_start or first <= current.effective_from:
        return timedelta(0)
    return first - c.effective_from


def _split(state: ResourceSchedule, one: SeriesState, current: Segment, c: ReviseSeries):
    """The new segment's start and definition: the split occurrence's new start when it moves earlier
    (the day keeps its airing), and every exclusion, cancellation and hand-moved occurrence after the
    split carried into it, moved by the same change, so none comes back and none is replaced."""
    delta = _shift(current, c)
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
        if state.airings[airing_id].status in (Status.cancelled, Status.rescheduled):
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
    revisions = []
    following = [s.effective_from for s in one.segments[1:]] + [None]
    for segment, until in zip(one.segments, following, strict=True):
        if until is not None and until <= c.effective_from:
            continue  # wholly in the past
        try:
            definition = SeriesDefinition.model_validate(segment.definition.model_dump() | c.changes)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise InvalidCommand(".".join(map(str, error["loc"])) or "definition", error["msg"]) from None
        if definition == segment.definition:
            continue
        recurrence_of(definition, new=True)
        revisions.append(
            SeriesRevised(
                series_id=c.series_id,
                resource_id=state.resource_id,
                effective_from=max(segment.effective_from, c.effective_from),
                until=until,
                definition=definition,
            )
        )
    if not revisions:
        return []
    return _apply(state, c.series_id, c.effective_from, revisions, c.skip_conflicts)


def _check_revision(one: SeriesState, effective_from: datetime) -> None:
    if effective_from < one.segments[0].effective_from:
        raise InvalidCommand("effective_from", "the series starts later")
    if one.ended_from is not None and effective_from >= one.ended_from:
        raise InvalidTransition(f"series {one.series_id} ended at {one.ended_from:%Y-%m-%d %H:%M}")


def _apply(
    state: ResourceSchedule, series_id, effective_from: datetime, revisions: list[SeriesRevised], skip: bool
) -> list[Event]:
    """The revisions, then: occurrences the new rules drop are cancelled, changed ones replaced."""
    for revised in revisions:
        state = evolve(state, revised)
    one = state.series[series_id]
    start = local_instant(effective_from, one.current.definition.zone)
    through = one.through or start
    wanted = {o.local_start: (segment, o) for segment, o in one.between(start, through)}
    events: list[Event] = list(revisions)
    replaced = set()
    for recurrence_id, airing_id in sorted(one.occurrences.items()):
        airing = state.airings[airing_id]
        if (
            recurrence_id in wanted
            and airing.status is Status.rescheduled
            and recurrence_id >= effective_from
        ):
            # Moved by hand ("this airing"): its window is the planner's choice; what the series
            # says (a new title, script …) still reaches it, where it stands.
            content = _content_change(state, airing, _occurrence_command(one, *wanted[recurrence_id]))
            if content is not None:
                state = evolve(state, content)
                events.append(content)
            continue
        if recurrence_id < effective_from or airing.status is not Status.scheduled:
            # history, live, already cancelled or bumped, or moved by hand: left as it is
            continue
        if recurrence_id in wanted:
            segment, occurrence = wanted[recurrence_id]
            if _same(airing.scheduled, _occurrence_command(one, segment, occurrence)):
                continue
            replaced.add(recurrence_id)
        cancelled = AiringCancelled(
            airing_id=airing_id, resource_id=state.resource_id, reason="series revised"
        )
        state = evolve(state, cancelled)
        events.append(cancelled)
    one = state.series[series_id]
    if through > start:
        # Only skipped occurrences are news here: the horizon itself does not move.
        events += _materialise(state, one, start, through, skip=skip, again=replaced, mark=False)
    return events


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


def _content_change(state: ResourceSchedule, airing, command: ScheduleAiring) -> AiringContentChanged | None:
    wanted = {name: getattr(command, name) for name in CONTENT}
    if all(getattr(airing.scheduled, name) == value for name, value in wanted.items()):
        return None
    return AiringContentChanged(airing_id=airing.airing_id, resource_id=state.resource_id, **wanted)


def _same(scheduled, command: ScheduleAiring) -> bool:
    return (
        scheduled.starts_at == command.starts_at
        and scheduled.ends_at == command.ends_at
        and scheduled.title == command.title
        and scheduled.topic == command.topic
        and scheduled.language == command.language
        and scheduled.priority == command.priority
        and scheduled.script == command.script
        and scheduled.audio_ref == command.audio_ref
    )


def _materialise(
    state: ResourceSchedule,
    one: SeriesState,
    start: datetime,
    through: datetime,
    *,
    skip: bool,
    again: frozenset | set = frozenset(),
    mark: bool = True,
) -> list[Event]:
    """Airings for the occurrences in [start, through) that have none yet, then SeriesExtended."""
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
        command = _occurrence_command(one, segment, occurrence)
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
