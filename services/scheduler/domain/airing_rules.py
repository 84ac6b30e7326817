"""The rules of one airing on a schedule: schedule, reschedule (keeping its length unless told),
cancel, confirm, correct, go live, end. Each returns the events a command causes, or raises a
DomainError saying why not; an empty list means the command had already taken effect.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from contracts.base import Event
from contracts.events.schedule import (
    SHARES_ITS_WINDOW,
    AiringBumped,
    AiringCancelled,
    AiringConfirmed,
    AiringKind,
    AiringRescheduled,
    AiringScheduled,
    ConfirmationCorrected,
    LivestreamEnded,
    LivestreamWentLive,
    Outcome,
    Priority,
)
from contracts.events.status import GONE
from contracts.localtime import to_local
from services.scheduler.domain.commands import (
    CancelAiring,
    ConfirmAiring,
    CorrectConfirmation,
    EndLivestream,
    GoLive,
    RescheduleAiring,
    ScheduleAiring,
)
from services.scheduler.domain.errors import (
    Conflict,
    InvalidCommand,
    InvalidTransition,
    NotFound,
)
from services.scheduler.domain.state import (
    CONFIRMABLE,
    MOVABLE,
    Airing,
    ResourceSchedule,
    Status,
)


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidCommand("starts_at", "times must carry their zone")
    if ends_at <= starts_at:
        raise InvalidCommand("ends_at", "must be after starts_at")


def check_owner(state: ResourceSchedule, resource_id: str) -> None:
    """A schedule holds one resource's airings and series: a command for another is refused."""
    if state.resource_id is not None and state.resource_id != resource_id:
        raise InvalidCommand("resource_id", f"this schedule belongs to {state.resource_id}")


def created_already(known: object | None, created: object, what: str) -> bool:
    """Whether a command that creates ``what`` (an airing, a series) has taken effect: ``known``,
    the record held under its id, is the ``created`` event again (a retry); another record under
    that id refuses it."""
    if known is None:
        return False
    if known == created:
        return True
    raise InvalidTransition(f"{what} already exists with other details")


def _check_as_run(c: ConfirmAiring | CorrectConfirmation) -> None:
    """What an as-run record must say, first recorded or corrected."""
    if c.outcome is Outcome.missed and not c.reason:
        raise InvalidCommand("reason", "say why the airing was missed")
    if c.actual_start and c.actual_end and c.actual_end < c.actual_start:
        raise InvalidCommand("actual_end", "must not be before actual_start")


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


def schedule_airing(state: ResourceSchedule, c: ScheduleAiring) -> list[Event]:
    _check_window(c.starts_at, c.ends_at)
    check_owner(state, c.resource_id)
    event = AiringScheduled(**vars(c))  # the command, field for field
    known = state.airings.get(c.airing_id)
    if created_already(None if known is None else known.scheduled, event, f"airing {c.airing_id}"):
        return []
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


def reschedule_airing(state: ResourceSchedule, c: RescheduleAiring) -> list[Event]:
    airing = _get(state, c.airing_id)
    ends_at = c.ends_at if c.ends_at is not None else c.starts_at + (airing.ends_at - airing.starts_at)
    _check_window(c.starts_at, ends_at)
    if airing.status not in MOVABLE:
        raise InvalidTransition(f"airing {c.airing_id} is {airing.status}: it cannot move")
    if airing.status is not Status.bumped and (airing.starts_at, airing.ends_at) == (c.starts_at, ends_at):
        return []
    bumps = (
        []
        if airing.scheduled.kind in SHARES_ITS_WINDOW
        else _make_room(
            state,
            state.resource_id,
            c.starts_at,
            ends_at,
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
            ends_at=ends_at,
            previous_starts_at=airing.starts_at,
            previous_ends_at=airing.ends_at,
            reason=c.reason,
        ),
    ]


def cancel_airing(state: ResourceSchedule, c: CancelAiring) -> list[Event]:
    airing = _get(state, c.airing_id)
    if airing.status is Status.cancelled:
        return []
    if airing.status not in MOVABLE:
        raise InvalidTransition(f"airing {c.airing_id} is {airing.status}: it cannot be cancelled")
    return [AiringCancelled(airing_id=c.airing_id, resource_id=state.resource_id, reason=c.reason)]


def confirm_airing(state: ResourceSchedule, c: ConfirmAiring) -> list[Event]:
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
    _check_as_run(c)
    event = AiringConfirmed(**_record(state, c), operator=c.operator, confirmed_at=c.confirmed_at)
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


AS_RUN = ("outcome", "actual_start", "actual_end", "reason")
"""What an as-run record says, whoever records it and whenever."""


def _record(state: ResourceSchedule, c: ConfirmAiring | CorrectConfirmation) -> dict[str, Any]:
    """The as-run record a confirmation or a correction states, as its event's fields."""
    return {"airing_id": c.airing_id, "resource_id": state.resource_id} | {f: getattr(c, f) for f in AS_RUN}


def _same_record(previous: AiringConfirmed, given: AiringConfirmed | CorrectConfirmation) -> bool:
    """The same as-run record, whoever sent it again and whenever."""
    return all(getattr(previous, f) == getattr(given, f) for f in AS_RUN)


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


def correct_confirmation(state: ResourceSchedule, c: CorrectConfirmation) -> list[Event]:
    airing = _get(state, c.airing_id)
    previous = airing.confirmation
    if previous is None:
        raise InvalidTransition(f"airing {c.airing_id} is not confirmed yet: confirm it instead")
    if not c.why.strip():
        raise InvalidCommand("why", "say why the confirmation is corrected")
    _check_as_run(c)
    if c.outcome is not Outcome.missed and any(
        a.scheduled.makeup_of == c.airing_id and a.status not in GONE for a in state.airings.values()
    ):
        raise InvalidTransition(f"airing {c.airing_id} was made up by another airing: it stays missed")
    event = ConfirmationCorrected(
        **_record(state, c),
        previous_outcome=previous.outcome,
        why=c.why,
        corrected_by=c.corrected_by,
        corrected_at=c.corrected_at,
    )
    if _same_record(previous, c):
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


def go_live(state: ResourceSchedule, c: GoLive) -> list[Event]:
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


def end_livestream(state: ResourceSchedule, c: EndLivestream) -> list[Event]:
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
