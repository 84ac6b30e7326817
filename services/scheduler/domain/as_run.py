"""Confirming many airings of one schedule at once (bulk confirmations, as-run logs).

Each confirmation is decided on the schedule as it stands after the ones before
it, and has its own result: confirmed, already confirmed (the same record again:
a retried upload doubles nothing), or refused with the field and the reason.
One refusal never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.base import Event
from services.scheduler.domain.commands import ConfirmAiring
from services.scheduler.domain.errors import DomainError, InvalidCommand
from services.scheduler.domain.schedule import Building, ResourceSchedule, decide_in_turn

CONFIRMED, ALREADY, REFUSED = "confirmed", "already confirmed", "refused"


@dataclass(frozen=True)
class ItemOutcome:
    status: str  # CONFIRMED, ALREADY or REFUSED
    field: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AsRun:
    events: list[Event]
    outcomes: list[ItemOutcome]  # one per command, in order
    state: ResourceSchedule


def confirm_all(state: ResourceSchedule, commands: list[ConfirmAiring]) -> AsRun:
    """The events of confirming ``commands`` one after another, and each one's outcome."""
    events: list[Event] = []
    outcomes: list[ItemOutcome] = []
    building = Building(state)
    for command in commands:
        try:
            new = decide_in_turn(building, command)
        except InvalidCommand as refusal:
            outcomes.append(ItemOutcome(REFUSED, refusal.field, refusal.reason))
            continue
        except DomainError as refusal:
            outcomes.append(ItemOutcome(REFUSED, "airing_id", str(refusal)))
            continue
        events += new
        outcomes.append(ItemOutcome(CONFIRMED if new else ALREADY))
    return AsRun(events, outcomes, building.freeze())
