"""A resource's schedule as its events leave it: its airings, its series and the windows held.

A resource (a commune's loudspeakers, a station's programme slot, a page) airs
one thing at a time, so all its airings live in one aggregate, stream
``schedule-<resource_id>``. ``evolve`` folds an event into the state, purely.
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
    AiringRescheduled,
    AiringRestored,
    AiringScheduled,
    ConfirmationCorrected,
    LivestreamEnded,
    LivestreamWentLive,
    Priority,
)
from contracts.events.series import SeriesEnded, SeriesExtended, SeriesPlanned, SeriesRevised
from contracts.events.status import AiringStatus
from services.scheduler.domain.errors import (
    InTheWay,
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
    # What the airing's page shows before an as-run record: why it was last moved or cancelled (a
    # restoration clears it), who took it live or ended it, when it ended, the emergency's title.
    reason: str | None = None
    operator: str | None = None
    ended_at: datetime | None = None
    bumped_by_title: str | None = None

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
                    reason=event.reason,
                )
            case AiringCancelled():
                self._update(event.airing_id, status=Status.cancelled, reason=event.reason)
            case AiringBumped():
                before = self.airings[event.airing_id].status
                self._update(
                    event.airing_id, status=Status.bumped, bumped_by=event.bumped_by, before_bump=before,
                    bumped_by_title=event.bumped_by_title,
                )  # fmt: skip
            case AiringContentChanged():
                content = event.model_dump(include=set(CONTENT))
                before = self.airings[event.airing_id]
                self.airings[event.airing_id] = replace(
                    before, scheduled=before.scheduled.model_copy(update=content)
                )
            case AiringRestored():
                self._update(event.airing_id, status=Status(event.status), before_bump=None, reason=None)
            case LivestreamWentLive():
                self._update(
                    event.airing_id, status=Status.live, went_live_at=event.at, operator=event.operator
                )
            case LivestreamEnded():
                self._update(event.airing_id, status=Status.ended, ended_at=event.at, operator=event.operator)
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
