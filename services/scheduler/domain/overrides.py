"""Overrides: occurrences of a series changed by hand (RFC 5545: a VEVENT with the series' UID and
the RECURRENCE-ID of the occurrence it stands for).

An occurrence is an override when it was moved by hand (its window is the planner's choice) or when
its content differs from what its part of the series says (its own title, script …). A revision keeps
every override's own choices: a series change reaches only the fields an override did not change, and
a change that moves occurrences ("this and following", or the whole series, to another time) moves
each override's RECURRENCE-ID by the same amount, so it stays the override of the same occurrence.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from contracts.events.schedule import AiringContentChanged
from contracts.events.series import CarriedOverride, SeriesDefinition
from services.scheduler.domain.errors import InvalidCommand, InvalidTransition, NotFound
from services.scheduler.domain.series import SeriesState
from services.scheduler.domain.state import CONTENT, Airing, ResourceSchedule, Status


@dataclass(frozen=True)
class ReviseOccurrence:
    """ "This one": change the content (title, topic, language, script, audio_ref) of the occurrence
    whose RECURRENCE-ID is ``recurrence_id``; moving or cancelling it is an airing's own command."""

    series_id: UUID
    recurrence_id: datetime
    changes: dict


@dataclass(frozen=True)
class Shift:
    """How a revision moves the occurrences whose RECURRENCE-ID is ``start`` or later."""

    start: datetime
    by: timedelta = timedelta(0)

    def __call__(self, recurrence_id: datetime) -> datetime:
        return recurrence_id + self.by if recurrence_id >= self.start else recurrence_id


def own_content(airing: Airing, definition: SeriesDefinition) -> dict[str, Any]:
    """The content fields in which an occurrence differs from its series' definition: its own."""
    return {
        name: getattr(airing.scheduled, name)
        for name in CONTENT
        if getattr(airing.scheduled, name) != getattr(definition, name)
    }


def owned(state: ResourceSchedule, one: SeriesState) -> dict[UUID, dict[str, Any]]:
    """The series' occurrences that have content of their own, each with those fields."""
    out = {}
    for recurrence_id, airing_id in one.occurrences.items():
        own = own_content(state.airings[airing_id], one.segment_at(recurrence_id).definition)
        if own:
            out[airing_id] = own
    return out


def carried(
    state: ResourceSchedule, one: SeriesState, shift: Shift, produced: Collection[datetime]
) -> list[CarriedOverride]:
    """The occurrences moved by hand from the shift's start on, each under its RECURRENCE-ID moved by
    the shift, where the revised series has that occurrence and no other airing stands for it.

    One moved by hand whose occurrence the revised rule no longer has stays where the planner put it.
    """
    if not shift.by:
        return []
    moving = {
        airing_id: recurrence_id
        for recurrence_id, airing_id in one.occurrences.items()
        if recurrence_id >= shift.start and state.airings[airing_id].status is Status.rescheduled
    }
    out = []
    for airing_id, recurrence_id in sorted(moving.items(), key=lambda pair: pair[1]):
        new = shift(recurrence_id)
        holder = one.occurrences.get(new)
        if new in produced and (holder is None or holder in moving):
            out.append(CarriedOverride(airing_id=airing_id, recurrence_id=new))
    return out


def content_change(
    state: ResourceSchedule, airing: Airing, wanted: dict[str, Any]
) -> AiringContentChanged | None:
    """The event that gives ``airing`` the ``wanted`` content where it stands, if it differs."""
    if all(getattr(airing.scheduled, name) == value for name, value in wanted.items()):
        return None
    content = {name: getattr(airing.scheduled, name) for name in CONTENT} | wanted
    try:
        return AiringContentChanged(airing_id=airing.airing_id, resource_id=state.resource_id, **content)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidCommand(".".join(map(str, error["loc"])) or "content", error["msg"]) from None


def revise_occurrence(state: ResourceSchedule, c: ReviseOccurrence) -> list:
    """ "This one" as an override: the occurrence keeps its RECURRENCE-ID and gets its own content,
    which later changes of the series leave as it is."""
    one = state.series.get(c.series_id)
    if one is None:
        raise NotFound(f"no series {c.series_id} on {state.resource_id or 'this resource'}")
    other = sorted(set(c.changes) - set(CONTENT))
    if other:
        raise InvalidCommand(
            other[0], "scope=this changes one occurrence's content; move or cancel it as an airing"
        )
    airing_id = one.occurrences.get(c.recurrence_id)
    if airing_id is None:
        raise InvalidCommand(
            "occurrence", f"the series has no occurrence planned at {c.recurrence_id:%Y-%m-%d %H:%M}"
        )
    airing = state.airings[airing_id]
    if airing.status not in (Status.scheduled, Status.rescheduled):
        raise InvalidTransition(f"airing {airing_id} is {airing.status}: its content cannot change")
    change = content_change(state, airing, c.changes)
    return [] if change is None else [change]
