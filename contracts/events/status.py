"""What became of an airing, and the sets every number is counted by: the only definition.

The report, ``/v1/stats``, campaign progress and the dashboard all count with
these sets, so "aired" means one thing wherever a manager reads it:

- **aired**: confirmed aired or partly aired, or a livestream that ended (a
  partly aired bulletin still went out; it is also shown on its own as partial);
- **missed**: confirmed missed;
- **planned**: scheduled and neither cancelled nor bumped (whatever became of it since);
- **gone**: cancelled or bumped — not planned any more.

A missed airing that a make-up airing names (``makeup_of``) counts once, as
**made up**: neither missed nor planned a second time — its make-up is the one
planned and, once it airs, aired (:func:`counts_as_missed`).

A post (tin, bài, video) holds no window and is often never confirmed: it counts
as aired — published — once confirmed *or* once its first sample arrives
(:func:`counts_as_aired`).
"""

from __future__ import annotations

from enum import StrEnum


class AiringStatus(StrEnum):
    """An airing's status in every read model (the scheduler's and the metrics service's)."""

    scheduled = "scheduled"
    rescheduled = "rescheduled"
    live = "live"  # a livestream that went live and has not ended yet
    ended = "ended"  # a livestream that ended: it aired
    aired = "aired"
    partial = "partial"
    missed = "missed"
    cancelled = "cancelled"
    bumped = "bumped"


S = AiringStatus
AIRED: frozenset[AiringStatus] = frozenset({S.aired, S.partial, S.ended})
PARTIAL: frozenset[AiringStatus] = frozenset({S.partial})
MISSED: frozenset[AiringStatus] = frozenset({S.missed})
GONE: frozenset[AiringStatus] = frozenset({S.cancelled, S.bumped})
PLANNED: frozenset[AiringStatus] = frozenset(AiringStatus) - GONE
PENDING: frozenset[AiringStatus] = PLANNED - AIRED - MISSED
"""Planned and not yet aired or missed: scheduled, rescheduled, live."""

PUBLISHED_BY_SAMPLE = frozenset({"post"})
"""Kinds that count as aired from their first sample on, confirmed or not."""


def counts_as_aired(status: str, kind: str | None = None, *, sampled: bool = False) -> bool:
    """Whether an airing in ``status`` counts as aired; ``sampled``: a sample of it was received."""
    if status in AIRED:
        return True
    return sampled and kind in PUBLISHED_BY_SAMPLE and status in PENDING


def sql_set(values: frozenset[str]) -> str:
    """A set as an SQL list, ``('aired', 'ended', 'partial')``, in a fixed order."""
    return "(" + ", ".join(f"'{v}'" for v in sorted(values)) + ")"


def counts_as_missed(status: str, *, made_up: bool = False) -> bool:
    """Whether an airing counts as missed; ``made_up``: a make-up airing (not gone) names it."""
    return status in MISSED and not made_up


def counts_as_planned(status: str, *, made_up: bool = False) -> bool:
    """Whether an airing counts as planned: a made-up miss is planned once, in its make-up."""
    return status in PLANNED and not (status in MISSED and made_up)
