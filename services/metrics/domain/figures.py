"""Figures: the newest reading of each counter of each airing — the counter rule, written once.

Counters are cumulative and platforms deliver late and out of order, so of two
readings of one counter the one sampled later wins, and of two sampled at one
instant the larger (an older sample never lowers a figure, DESIGN §3). A
reading is the pair ``(sampled_at, value)``: the rule is then plain tuple
order, the order PostgreSQL's row comparison also follows when the adapter
merges figures into a table (``services.metrics.adapters.projection``). Since
the newest of many readings does not depend on the order they come in, live
batches, a rebuild's passes and its flushes all give the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime

from contracts.events.metrics import SampleRecorded

Reading = tuple[datetime, int]
"""(sampled_at, value): a greater reading wins."""

Sample = tuple[Hashable, datetime, Mapping[str, int]]
"""(airing, sampled_at, counters) as the fold takes it; the airing as the caller spells it."""


class Figures:
    """The newest reading of each (airing, counter) among the samples given, in any order."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held: dict[Hashable, dict[str, Reading]] = {}  # airing -> counter -> reading

    def __len__(self) -> int:
        return len(self.held)

    def add(self, airing: Hashable, sampled_at: datetime, counters: Mapping[str, int]) -> None:
        self.add_all(((airing, sampled_at, counters),))

    def add_all(self, samples: Iterable[Sample]) -> None:
        """Fold ``samples`` in. The one place the rule is applied: a rebuild passes millions of
        readings through this loop, so it stays a loop (no call per reading)."""
        held = self.held
        for airing, sampled_at, counters in samples:
            per = held.get(airing)
            if per is None:
                per = held[airing] = {}
            for name, value in counters.items():
                reading = (sampled_at, value)
                current = per.get(name)
                if current is None or reading > current:
                    per[name] = reading

    def take(self, key: Callable[[Hashable], Hashable]) -> Figures:
        """Every figure held, its airing spelled ``key(airing)`` (two spellings of one airing merge
        by the rule), and forget them here."""
        merged = Figures()
        merged.add_all(
            (key(airing), at, {name: value})
            for airing, per in self.held.items()
            for name, (at, value) in per.items()
        )
        self.held = {}
        return merged


def figures_after(samples: Iterable[SampleRecorded]) -> dict[str, Reading]:
    """One airing's figures after ``samples``, in any order (counter -> (sampled_at, value))."""
    figures = Figures()
    figures.add_all((None, s.sampled_at, s.counters) for s in samples)
    return figures.held.get(None, {})
