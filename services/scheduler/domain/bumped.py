"""Bumped airings coming back: once an emergency is cancelled or ends early, the airings it took
the slots of may have them again — each only where its window is free, and each with its own answer.

Pure: the schedule in, the events and one result per bumped airing out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.base import Event
from contracts.events.schedule import AiringRestored, Outcome
from contracts.events.status import AiringStatus as Status
from contracts.localtime import to_local
from services.scheduler.domain.commands import RestoreBumped
from services.scheduler.domain.errors import InTheWay, NotFound
from services.scheduler.domain.state import Airing, Building, ResourceSchedule


@dataclass(frozen=True)
class Restored:
    """What became of one airing the emergency had bumped."""

    airing: Airing
    result: str  # restored | refused | not_bumped
    reason: str | None = None
    in_the_way: tuple[InTheWay, ...] = ()


@dataclass(frozen=True)
class Restoration:
    events: list[Event]
    items: list[Restored]


def restore_bumped(state: ResourceSchedule, c: RestoreBumped) -> Restoration:
    """One result per airing ``c.emergency_id`` ever bumped, in start order; events for those restored.

    A retry finds them restored already and appends nothing (``not_bumped``, naming their status).
    """
    emergency = state.airings.get(c.emergency_id)
    if emergency is None:
        raise NotFound(f"no airing {c.emergency_id} on {state.resource_id or 'this resource'}")
    building = Building(state)
    events: list[Event] = []
    items: list[Restored] = []
    taken_by_emergency = _window_used(emergency)
    victims = [a for a in state.airings.values() if a.bumped_by == c.emergency_id]
    for airing in sorted(victims, key=lambda a: (a.starts_at, str(a.airing_id))):
        if airing.status is not Status.bumped:
            items.append(Restored(airing, "not_bumped", f"it is {airing.status} now"))
            continue
        in_the_way = building.overlapping(airing.starts_at, airing.ends_at, besides=airing.airing_id)
        if in_the_way:
            taken = "; ".join(
                f"{a.title!r} {to_local(a.starts_at):%d/%m/%Y %H:%M}–{to_local(a.ends_at):%H:%M}"
                for a in in_the_way
            )
            items.append(
                Restored(
                    airing,
                    "refused",
                    f"its slot is taken by {taken}",
                    tuple(a.in_the_way() for a in in_the_way),
                )
            )
            continue
        if taken_by_emergency and _overlap(taken_by_emergency, (airing.starts_at, airing.ends_at)):
            start, end = taken_by_emergency
            items.append(
                Restored(
                    airing,
                    "refused",
                    f"the emergency {emergency.title!r} aired over its slot "
                    f"({to_local(start):%H:%M}–{to_local(end):%H:%M}): reschedule it instead",
                    (emergency.in_the_way(),),
                )
            )
            continue
        event = AiringRestored(
            airing_id=airing.airing_id,
            resource_id=state.resource_id,
            status=(airing.before_bump or Status.scheduled).value,
            bumped_by=c.emergency_id,
        )
        building.apply(event)
        events.append(event)
        items.append(Restored(building.airings[airing.airing_id], "restored"))
    return Restoration(events, items)


def _window_used(emergency: Airing) -> tuple[datetime, datetime] | None:
    """The window an emergency that no longer holds its slot really used: none if it was cancelled,
    bumped or missed; its as-run times (or its plan) if it aired."""
    record = emergency.confirmation
    if record is None or record.outcome is Outcome.missed:
        return None
    return (record.actual_start or emergency.starts_at, record.actual_end or emergency.ends_at)


def _overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
