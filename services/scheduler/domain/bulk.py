"""Planning many airings on one schedule at once (fan-outs, imports).

Each airing is decided on the schedule as it stands after the ones before it,
so two airings of the same request can conflict with each other too. All or
nothing by default: the first conflict refuses the whole request. With
``skip_conflicts`` the airings in the way are left out and listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.base import Event
from services.scheduler.domain.commands import ScheduleAiring
from services.scheduler.domain.errors import Conflict
from services.scheduler.domain.schedule import Building, ResourceSchedule, decide_in_turn


@dataclass(frozen=True)
class Skipped:
    airing: ScheduleAiring
    conflict: Conflict


@dataclass(frozen=True)
class Plan:
    events: list[Event]
    skipped: list[Skipped]
    state: ResourceSchedule  # the schedule with the planned airings on it


def plan_all(state: ResourceSchedule, commands: list[ScheduleAiring], *, skip_conflicts: bool) -> Plan:
    """The events of scheduling ``commands`` one after another, or the first Conflict."""
    events: list[Event] = []
    skipped: list[Skipped] = []
    building = Building(state)
    for command in commands:
        try:
            new = decide_in_turn(building, command)
        except Conflict as conflict:
            if not skip_conflicts:
                raise
            skipped.append(Skipped(command, conflict))
            continue
        events += new
    return Plan(events, skipped, building.freeze())
