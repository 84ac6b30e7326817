"""A resource's schedule: the consistency boundary for "one thing at a time".

All the airings of one resource live in one aggregate, stream ``schedule-<resource_id>``:
its state and ``evolve`` are in state.py, the rules of one airing in airing_rules.py, those
of series in series_planning.py; ``decide`` here sends a command to its rule. All pure.
"""

from __future__ import annotations

from contracts.base import Event
from services.scheduler.domain import series_planning
from services.scheduler.domain.airing_rules import (
    cancel_airing,
    confirm_airing,
    correct_confirmation,
    end_livestream,
    go_live,
    reschedule_airing,
    schedule_airing,
)
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
from services.scheduler.domain.state import (  # noqa: F401 - the aggregate's names, for its readers
    CONTENT,
    Airing,
    Building,
    ResourceSchedule,
    Status,
    evolve,
    fold,
)


def decide(state: ResourceSchedule, command: Command) -> list[Event]:
    """The events ``command`` causes on this schedule, or a DomainError saying why not.

    An empty list means the command had already taken effect (a retry).
    """
    match command:
        case ScheduleAiring():
            return schedule_airing(state, command)
        case RescheduleAiring():
            return reschedule_airing(state, command)
        case CancelAiring():
            return cancel_airing(state, command)
        case ConfirmAiring():
            return confirm_airing(state, command)
        case CorrectConfirmation():
            return correct_confirmation(state, command)
        case GoLive():
            return go_live(state, command)
        case EndLivestream():
            return end_livestream(state, command)
    return series_planning.decide(state, command)


def decide_in_turn(building: Building, command: Command) -> list[Event]:
    """``decide`` on a schedule being built, its events folded in at once: each command of a
    batch (a bulk plan, an as-run log) is decided on the schedule as the ones before left it."""
    new = decide(building, command)
    for event in new:
        building.apply(event)
    return new
