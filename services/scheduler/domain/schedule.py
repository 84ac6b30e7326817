"""A resource's schedule: the consistency boundary for "one thing at a time".

A resource (a commune's loudspeakers, a station's programme slot, a page) airs
one thing at a time, so all its airings live in one aggregate, stream
``schedule-<resource_id>``. ``decide`` turns a command into events or refuses it;
``evolve`` folds an event into the state. Both are pure.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID

from contracts.base import Event
from contracts.events.schedule import (
    SHARES_ITS_WINDOW,
    AiringBumped,
    AiringCancelled,
    AiringConfirmed,
    AiringContentChanged,
    AiringKind,
    AiringRescheduled,
    AiringRestored,
    AiringScheduled,
    ConfirmationCorrected,
    LivestreamEnded,
    LivestreamWentLive,
    Outcome,
    Priority,
)
from contracts.events.series import SeriesEnded, SeriesExtended, SeriesPlanned, SeriesRevised
from contracts.events.status import GONE, AiringStatus
from services.common.localtime import to_local
from services.scheduler.domain.commands import (
    CancelAiring,
    Command,
    ConfirmAiring,
    CorrectConfirmation,
    EndLivestream,
    GoLive,
    RescheduleAiring,
    ScheduleAiring,
)
from services.scheduler.domain.errors import (
    Conflict,
    InTheWay,
    InvalidCommand,
    InvalidTransition,
    NotFound,
)
from services.scheduler.domain.series import Segment, SeriesState

Status = AiringStatus  # the one definition, in contracts


CONTENT = ("title", "topic", "language", "script", "audio_ref")
"""What an airing says, as opposed to when and where: it may change without moving the airing."""

# States in which an airing holds its window on the resource.
HOLDS_THE_SLOT = frozenset({Status.scheduled, Status.rescheduled, Status.live})
CONFIRMABLE = frozenset(Status) - {Status.cancelled, Status.bumped}
# A bumped airing did not air: the planner may move it to another slot or withdraw it.
MOVABLE = frozenset({Status.scheduled, Status.rescheduled, Status.bumped})


@dataclass(frozen=True)
class Airing:
    scheduled: AiringScheduled
    starts_at: datetime
    ends_at: datetime
    status: Status = Status.scheduled
    confirmation: AiringConfirmed | None = None
    went_live_at: datetime | None = None
    bumped_by: UUID | None = None  # the emergency that last took its slot (kept once it is given back)
    before_bump: Status | None = None  # what a restoration gives back

    @property
    def airing_id(self) -> UUID:
        return self.scheduled.airing_id

    @property
    def title(self) -> str:
        return self.scheduled.title

    @property
    def priority(self) -> Priority:
        return self.scheduled.priority

    def in_the_way(self) -> InTheWay:
        return InTheWay(self.airing_id, self.title, self.starts_at, self.ends_at)


Slot = tuple[datetime, datetime, UUID]  # (starts_at, ends_at, airing_id) of an airing holding its window


@dataclass(frozen=True)
class ResourceSchedule:
    resource_id: str | None = None
    airings: dict[UUID, Airing] = field(default_factory=dict)
    series: dict[UUID, SeriesState] = field(default_factory=dict)
    slots: tuple[
        Slot, ...
    ] = ()  # the windows held, sorted by start: overlap checks bisect instead of scanning
    longest: timedelta = timedelta(0)  # the longest window ever held bounds how far back an overlap can start

    def overlapping(
        self, starts_at: datetime, ends_at: datetime, *, besides: UUID | None = None
    ) -> list[Airing]:
        return _overlapping(self, starts_at, ends_at, besides)


def _overlapping(state, starts_at: datetime, ends_at: datetime, besides: UUID | None) -> list[Airing]:
    """The airings holding a window that overlaps [starts_at, ends_at), by start."""
    first = bisect_left(state.slots, (starts_at - state.longest,))
    last = bisect_left(state.slots, (ends_at,))
    return [
        state.airings[airing_id]
        for start, end, airing_id in state.slots[first:last]
        if airing_id != besides and start < ends_at and starts_at < end
    ]


# -- evolve -------------------------------------------------------------------------


def evolve(state: ResourceSchedule, event: Event) -> ResourceSchedule:
    """The schedule after ``event``."""
    return fold([event], state)


def fold(events: list[Event], state: ResourceSchedule | None = None) -> ResourceSchedule:
    """The schedule after ``events``, in one pass (linear in the history, however long)."""
    building = Building(state or ResourceSchedule())
    for event in events:
        building.apply(event)
    return building.freeze()


class Building:
    """A private, mutable copy of a schedule while events are folded into it.

    ``evolve`` and ``fold`` stay pure: the state they were given is never touched.
    ``decide`` accepts a Building where it takes a schedule, so planning many
    airings in a row folds each decision in place instead of copying the schedule.
    """

    def __init__(self, state: ResourceSchedule) -> None:
        self.resource_id = state.resource_id
        self.airings = dict(state.airings)
        self.series = dict(state.series)
        self.slots = list(state.slots)
        self.longest = state.longest
        self._own_occurrences: set[UUID] = set()

    def overlapping(
        self, starts_at: datetime, ends_at: datetime, *, besides: UUID | None = None
    ) -> list[Airing]:
        return _overlapping(self, starts_at, ends_at, besides)

    def freeze(self) -> ResourceSchedule:
        return ResourceSchedule(self.resource_id, self.airings, self.series, tuple(self.slots), self.longest)

    def _hold(self, airing: Airing) -> None:
        if airing.scheduled.kind in SHARES_ITS_WINDOW:
            return
        insort(self.slots, (airing.starts_at, airing.ends_at, airing.airing_id))
        self.longest = max(self.longest, airing.ends_at - airing.starts_at)

    def _release(self, airing: Airing) -> None:
        slot = (airing.starts_at, airing.ends_at, airing.airing_id)
        i = bisect_left(self.slots, slot)
        if i < len(self.slots) and self.slots[i] == slot:
            del self.slots[i]

    def _update(self, airing_id: UUID, **changes) -> None:
        before = self.airings[airing_id]
        after = replace(before, **changes)
        self.airings[airing_id] = after
        held, holds = before.status in HOLDS_THE_SLOT, after.status in HOLDS_THE_SLOT
        if held and (not holds or (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at)):
            self._release(before)
        if holds and (not held or (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at)):
            self._hold(after)

    def _occurrences_of(self, series_id: UUID) -> dict:
        one = self.series[series_id]
        if series_id not in self._own_occurrences:
            one = replace(one, occurrences=dict(one.occurrences))
            self.series[series_id] = one
            self._own_occurrences.add(series_id)
        return one.occurrences

    def apply(self, event: Event) -> None:
        match event:
            case AiringScheduled():
                airing = Airing(event, event.starts_at, event.ends_at)
                self.resource_id = event.resource_id
                self.airings[event.airing_id] = airing
                self._hold(airing)
                if event.series_id in self.series and event.recurrence_id is not None:
                    self._occurrences_of(event.series_id)[event.recurrence_id] = event.airing_id
            case AiringRescheduled():
                self._update(
                    event.airing_id,
                    starts_at=event.starts_at,
                    ends_at=event.ends_at,
                    status=Status.rescheduled,
                )
            case AiringCancelled():
                self._update(event.airing_id, status=Status.cancelled)
            case AiringBumped():
                before = self.airings[event.airing_id].status
                self._update(
                    event.airing_id, status=Status.bumped, bumped_by=event.bumped_by, before_bump=before
                )
            case AiringContentChanged():
                content = event.model_dump(include=set(CONTENT))
                before = self.airings[event.airing_id]
                self.airings[event.airing_id] = replace(
                    before, scheduled=before.scheduled.model_copy(update=content)
                )
            case AiringRestored():
                self._update(event.airing_id, status=Status(event.status), before_bump=None)
            case LivestreamWentLive():
                self._update(event.airing_id, status=Status.live, went_live_at=event.at)
            case LivestreamEnded():
                self._update(event.airing_id, status=Status.ended)
            case AiringConfirmed():
                self._update(event.airing_id, status=Status(event.outcome.value), confirmation=event)
            case ConfirmationCorrected():
                before = self.airings[event.airing_id].confirmation
                latest = before.model_copy(
                    update={
                        "outcome": event.outcome,
                        "actual_start": event.actual_start,
                        "actual_end": event.actual_end,
                        "reason": event.reason,
                        "operator": event.corrected_by,
                        "confirmed_at": event.corrected_at,
                    }
                )
                self._update(event.airing_id, status=Status(event.outcome.value), confirmation=latest)
            case SeriesPlanned():
                self.resource_id = event.resource_id
                first = Segment(event.definition.first_start, event.definition, 0)
                self.series[event.series_id] = SeriesState(event, (first,))
                self._own_occurrences.add(event.series_id)
            case SeriesRevised():
                one = self.series[event.series_id]
                before = tuple(s for s in one.segments if s.effective_from < event.effective_from)
                after = tuple(
                    s for s in one.segments if event.until is not None and s.effective_from >= event.until
                )
                revision = max(s.revision for s in one.segments) + 1
                segments = (*before, Segment(event.effective_from, event.definition, revision), *after)
                self.series[event.series_id] = replace(one, segments=segments)
                if event.overrides:  # overrides carried to their new RECURRENCE-ID (series_planning)
                    occurrences = self._occurrences_of(event.series_id)
                    moved = {o.airing_id for o in event.overrides}
                    for key in [k for k, v in occurrences.items() if v in moved]:
                        del occurrences[key]
                    occurrences.update({o.recurrence_id: o.airing_id for o in event.overrides})
            case SeriesEnded():
                self.series[event.series_id] = replace(
                    self.series[event.series_id], ended_from=event.effective_from
                )
            case SeriesExtended():
                self.series[event.series_id] = replace(self.series[event.series_id], through=event.through)


# -- decide -------------------------------------------------------------------------


def decide(state: ResourceSchedule, command: Command) -> list[Event]:
    """The events ``command`` causes on this schedule, or a DomainError saying why not.

    An empty list means the command had already taken effect (a retry).
    """
    match command:
        case ScheduleAiring():
            return _schedule(state, command)
        case RescheduleAiring():
            return _reschedule(state, command)
        case CancelAiring():
            return _cancel(state, command)
        case ConfirmAiring():
            return _confirm(state, command)
        case CorrectConfirmation():
            return _correct(state, command)
        case GoLive():
            return _go_live(state, command)
        case EndLivestream():
            return _end(state, command)
    # Series rules build on the single-airing rules above, hence the late import.
    from services.scheduler.domain import series_planning

    return series_planning.decide(state, command)


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidCommand("starts_at", "times must carry their zone")
    if ends_at <= starts_at:
        raise InvalidCommand("ends_at", "must be after starts_at")


def _make_room(
    state: ResourceSchedule,
    resource_id: str,
    starts_at,
    ends_at,
    priority: Priority,
    *,
    besides=None,
    by=None,
) -> list[Event]:
    """Bumps for an emergency, nothing for a free window, or a Conflict naming who is in the way."""
    in_the_way = state.overlapping(starts_at, ends_at, besides=besides)
    if not in_the_way:
        return []
    # An emergency bulletin displaces normal airings; nothing displaces priority or emergency ones.
    if priority is Priority.emergency and all(a.priority is Priority.normal for a in in_the_way):
        airing_id, title = by
        return [
            AiringBumped(
                airing_id=a.airing_id, resource_id=resource_id, bumped_by=airing_id, bumped_by_title=title
            )
            for a in in_the_way
        ]
    blocking = [
        a for a in in_the_way if priority is not Priority.emergency or a.priority is not Priority.normal
    ]
    raise Conflict(resource_id, [a.in_the_way() for a in blocking])


def _schedule(state: ResourceSchedule, c: ScheduleAiring) -> list[Event]:
    _check_window(c.starts_at, c.ends_at)
    if state.resource_id is not None and state.resource_id != c.resource_id:
        raise InvalidCommand("resource_id", f"this schedule belongs to {state.resource_id}")
    event = AiringScheduled(
        airing_id=c.airing_id,
        kind=c.kind,
        resource_id=c.resource_id,
        starts_at=c.starts_at,
        ends_at=c.ends_at,
        title=c.title,
        topic=c.topic,
        language=c.language,
        campaign_id=c.campaign_id,
        series_id=c.series_id,
        recurrence_id=c.recurrence_id,
        priority=c.priority,
        script=c.script,
        audio_ref=c.audio_ref,
        makeup_of=c.makeup_of,
    )
    known = state.airings.get(c.airing_id)
    if known is not None:
        if known.scheduled == event:
            return []
        raise InvalidTransition(f"airing {c.airing_id} already exists with other details")
    if c.makeup_of is not None:
        _check_makeup(state, c)
    if c.kind in SHARES_ITS_WINDOW:
        return [event]
    bumps = _make_room(state, c.resource_id, c.starts_at, c.ends_at, c.priority, by=(c.airing_id, c.title))
    return [*bumps, event]


def _get(state: ResourceSchedule, airing_id: UUID) -> Airing:
    airing = state.airings.get(airing_id)
    if airing is None:
        raise NotFound(f"no airing {airing_id} on {state.resource_id or 'this resource'}")
    return airing


def _reschedule(state: ResourceSchedule, c: RescheduleAiring) -> list[Event]:
    _check_window(c.starts_at, c.ends_at)
    airing = _get(state, c.airing_id)
    if airing.status not in MOVABLE:
        raise InvalidTransition(f"airing {c.airing_id} is {airing.status}: it cannot move")
    if airing.status is not Status.bumped and (airing.starts_at, airing.ends_at) == (c.starts_at, c.ends_at):
        return []
    bumps = (
        []
        if airing.scheduled.kind in SHARES_ITS_WINDOW
        else _make_room(
            state,
            state.resource_id,
            c.starts_at,
            c.ends_at,
            airing.priority,
            besides=c.airing_id,
            by=(c.airing_id, airing.title),
        )
    )
    return [
        *bumps,
        AiringRescheduled(
            airing_id=c.airing_id,
            resource_id=state.resource_id,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            previous_starts_at=airing.starts_at,
            previous_ends_at=airing.ends_at,
            reason=c.reason,
        ),
    ]


def _cancel(state: ResourceSchedule, c: CancelAiring) -> list[Event]:
    airing = _get(state, c.airing_id)
    if airing.status is Status.cancelled:
        return []
    if airing.status not in MOVABLE:
        raise InvalidTransition(f"airing {c.airing_id} is {airing.status}: it cannot be cancelled")
    return [AiringCancelled(airing_id=c.airing_id, resource_id=state.resource_id, reason=c.reason)]


def _confirm(state: ResourceSchedule, c: ConfirmAiring) -> list[Event]:
    airing = _get(state, c.airing_id)
    if airing.status not in CONFIRMABLE:
        raise InvalidTransition(f"airing {c.airing_id} was {airing.status}: there is nothing to confirm")
    if c.confirmed_at < airing.starts_at:
        # An as-run record of what has not begun would count airings that may never happen.
        raise InvalidCommand(
            "outcome",
            f"the airing starts at {to_local(airing.starts_at):%d/%m/%Y %H:%M}: confirm it once it has begun "
            "(a planner cancels one that will not air)",
        )
    if c.outcome is Outcome.missed and not c.reason:
        raise InvalidCommand("reason", "say why the airing was missed")
    if c.actual_start and c.actual_end and c.actual_end < c.actual_start:
        raise InvalidCommand("actual_end", "must not be before actual_start")
    event = AiringConfirmed(
        airing_id=c.airing_id,
        resource_id=state.resource_id,
        outcome=c.outcome,
        actual_start=c.actual_start,
        actual_end=c.actual_end,
        reason=c.reason,
        operator=c.operator,
        confirmed_at=c.confirmed_at,
    )
    previous = airing.confirmation
    if previous is not None:
        if _same_record(previous, event):
            return []  # the same as-run record again (a retry from a phone with a bad connection)
        raise InvalidTransition(
            f"airing {c.airing_id} is already confirmed {previous.outcome} by {previous.operator} on "
            f"{to_local(previous.confirmed_at):%d/%m/%Y %H:%M}; a confirmation is changed only by a "
            f"correction saying why (POST /v1/airings/{c.airing_id}/correction)"
        )
    return [event]


def _same_record(previous: AiringConfirmed, event: AiringConfirmed) -> bool:
    """The same as-run record, whoever sent it again and whenever."""
    fields = ("outcome", "actual_start", "actual_end", "reason")
    return all(getattr(previous, f) == getattr(event, f) for f in fields)


def _check_makeup(state: ResourceSchedule, c: ScheduleAiring) -> None:
    """A make-up names a missed airing on the same resource, made up by no other airing yet."""
    missed = state.airings.get(c.makeup_of)
    if missed is None:
        raise InvalidCommand("makeup_of", f"no airing {c.makeup_of} on {c.resource_id} to make up for")
    if missed.status is not Status.missed:
        raise InvalidCommand("makeup_of", f"airing {c.makeup_of} is {missed.status}, not missed")
    for other in state.airings.values():
        if other.scheduled.makeup_of == c.makeup_of and other.status not in GONE:
            raise InvalidCommand(
                "makeup_of", f"airing {c.makeup_of} is already made up by {other.title!r} ({other.airing_id})"
            )


def _correct(state: ResourceSchedule, c: CorrectConfirmation) -> list[Event]:
    airing = _get(state, c.airing_id)
    previous = airing.confirmation
    if previous is None:
        raise InvalidTransition(f"airing {c.airing_id} is not confirmed yet: confirm it instead")
    if not c.why.strip():
        raise InvalidCommand("why", "say why the confirmation is corrected")
    if c.outcome is Outcome.missed and not c.reason:
        raise InvalidCommand("reason", "say why the airing was missed")
    if c.actual_start and c.actual_end and c.actual_end < c.actual_start:
        raise InvalidCommand("actual_end", "must not be before actual_start")
    if c.outcome is not Outcome.missed and any(
        a.scheduled.makeup_of == c.airing_id and a.status not in GONE for a in state.airings.values()
    ):
        raise InvalidTransition(f"airing {c.airing_id} was made up by another airing: it stays missed")
    event = ConfirmationCorrected(
        airing_id=c.airing_id,
        resource_id=state.resource_id,
        outcome=c.outcome,
        actual_start=c.actual_start,
        actual_end=c.actual_end,
        reason=c.reason,
        previous_outcome=previous.outcome,
        why=c.why,
        corrected_by=c.corrected_by,
        corrected_at=c.corrected_at,
    )
    if (previous.outcome, previous.actual_start, previous.actual_end, previous.reason) == (
        c.outcome,
        c.actual_start,
        c.actual_end,
        c.reason,
    ):
        return []  # already the record (a retried correction)
    return [event]


OVERRUN = timedelta(hours=6)
"""How long after its planned end a livestream may still be recorded as ending (it overran)."""
CLOCK_SKEW = timedelta(minutes=1)


def _check_real_time(airing: Airing, at: datetime, received_at: datetime | None) -> None:
    """A livestream's real times fall on its day (from the local midnight before it starts to the one
    after it ends, or up to :data:`OVERRUN` after its end), and not in the future."""
    if at.tzinfo is None:
        raise InvalidCommand("at", "times must carry their zone")
    if received_at is not None and at > received_at + CLOCK_SKEW:
        raise InvalidCommand("at", "is in the future: record what happened, once it happened")
    first_day = to_local(airing.starts_at).replace(hour=0, minute=0, second=0, microsecond=0)
    last_day = to_local(airing.ends_at).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    if not first_day <= at < max(last_day, airing.ends_at + OVERRUN):
        raise InvalidCommand(
            "at", f"must fall on the livestream's day, {to_local(airing.starts_at):%d/%m/%Y}"
        )


def _go_live(state: ResourceSchedule, c: GoLive) -> list[Event]:
    airing = _get(state, c.airing_id)
    if airing.scheduled.kind is not AiringKind.livestream:
        raise InvalidTransition(f"airing {c.airing_id} is a {airing.scheduled.kind}, not a livestream")
    if airing.status is Status.live:
        return []
    if airing.status not in (Status.scheduled, Status.rescheduled):
        raise InvalidTransition(f"livestream {c.airing_id} is {airing.status}: it cannot go live")
    _check_real_time(airing, c.at, c.received_at)
    return [
        LivestreamWentLive(
            airing_id=c.airing_id, resource_id=state.resource_id, url=c.url, at=c.at, operator=c.operator
        )
    ]


def _end(state: ResourceSchedule, c: EndLivestream) -> list[Event]:
    airing = _get(state, c.airing_id)
    if airing.status is Status.ended:
        return []
    if airing.status is not Status.live:
        raise InvalidTransition(f"livestream {c.airing_id} is {airing.status}, not live")
    _check_real_time(airing, c.at, c.received_at)
    if airing.went_live_at is not None and c.at < airing.went_live_at:
        raise InvalidCommand(
            "at", f"it went live at {to_local(airing.went_live_at):%d/%m/%Y %H:%M}: it ends after"
        )
    return [
        LivestreamEnded(airing_id=c.airing_id, resource_id=state.resource_id, at=c.at, operator=c.operator)
    ]
