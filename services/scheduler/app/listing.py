"""An airing as the lists will show it, from the schedule that decided it.

A command answers with the airing it changed. The read model lists the same airing a moment
later, once its projection has applied the events; the answer does not wait for that: it is
taken from the schedule the events left, by the rule below, which gives what the projection
will list (``adapters/projection.py`` applies the same events column by column; a test holds
each command's answer equal to the listed airing).
"""

from __future__ import annotations

from uuid import UUID

from contracts.events.status import AiringStatus
from contracts.http.scheduler import AiringView
from contracts.localtime import to_local
from services.scheduler.domain.state import Airing, ResourceSchedule

_AS_SCHEDULED = {"makeup_of", "starts_at", "ends_at", "recurrence_id"}


def listed(state: ResourceSchedule | None, airing_id: UUID) -> AiringView | None:
    """The airing ``airing_id`` as the read model will list it once it has applied every event of
    ``state``; None when the schedule holds no such airing."""
    airing = state.airings.get(airing_id) if state is not None else None
    if airing is None:
        return None
    record = airing.confirmation
    if record is not None:  # the latest as-run record (a correction's) replaces times, reason, operator
        actual = (record.actual_start, record.actual_end, record.reason, record.operator)
    else:
        actual = (airing.went_live_at, airing.ended_at, _reason(airing), airing.operator)
    actual_start, actual_end, reason, operator = actual
    # A restoration gives the slot back and the page stops naming the emergency (the schedule keeps
    # it, to know which airings an emergency took): an airing bumped and not restored names it.
    bumped = airing.before_bump is not None
    return AiringView(
        **airing.scheduled.model_dump(exclude=_AS_SCHEDULED),
        starts_at=to_local(airing.starts_at),
        ends_at=to_local(airing.ends_at),
        recurrence_id=_recurrence_id(state, airing),
        status=airing.status.value,
        actual_start=to_local(actual_start) if actual_start else None,
        actual_end=to_local(actual_end) if actual_end else None,
        reason=reason,
        operator=operator,
        bumped_by=airing.bumped_by if bumped else None,
        bumped_by_title=airing.bumped_by_title if bumped else None,
    )


def _reason(airing: Airing) -> str | None:
    if airing.status is AiringStatus.bumped:
        return f"bumped by {airing.bumped_by_title}"
    return airing.reason


def _recurrence_id(state: ResourceSchedule, airing: Airing):
    """The occurrence an airing of a series stands for: a revision may carry it to another one."""
    series = state.series.get(airing.scheduled.series_id) if airing.scheduled.series_id else None
    if series is not None:
        for occurrence, airing_id in series.occurrences.items():
            if airing_id == airing.airing_id:
                return occurrence
    return airing.scheduled.recurrence_id
