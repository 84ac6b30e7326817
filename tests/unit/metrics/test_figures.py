"""The rebuild's fold of stored samples keeps the counting rule of the domain (no IO)."""

import itertools
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from contracts.events.metrics import SampleRecorded
from services.metrics.adapters.figures_sql import SAMPLE, add_stored
from services.metrics.domain.figures import Figures, figures_after

AIRING = uuid4()
T0 = datetime(2023, 8, 25, 20, 0, tzinfo=UTC)


def reading(minutes, **counters):
    return SampleRecorded(airing_id=AIRING, sampled_at=T0 + timedelta(minutes=minutes), source="facebook",
                          counters=counters)  # fmt: skip


def stored(position, sample):
    """A row as the store's ``scan`` gives it, with a sample's stored JSON."""
    return (position, SAMPLE, 2, sample.__pydantic_serializer__.to_json(sample).decode())


READINGS = [
    reading(10, views=400),
    reading(60, views=1700, comments=105),
    reading(30, views=900, shares=20),
    reading(60, views=1650),  # the same instant as 1,700: the larger stays
    reading(61, peak_viewers=212),
]


def test_stored_samples_fold_to_the_domain_figures_in_any_order():
    expected = figures_after(READINGS)
    assert expected["views"] == (T0 + timedelta(minutes=60), 1700)
    for order in itertools.permutations(READINGS):
        figures = Figures()
        others = add_stored(figures, [stored(i, s) for i, s in enumerate(order)])
        assert others == [] and figures.held == {str(AIRING): expected}


def test_other_events_are_handed_back_in_order_and_add_follows_the_same_rule():
    figures = Figures()
    rows = [stored(1, READINGS[0]), (2, "schedule.AiringCancelled", 1, '{"x": 1}'),
            stored(3, READINGS[1]), (4, SAMPLE, 1, '{"views": 5}')]  # fmt: skip
    others = add_stored(figures, rows)
    assert others == [("schedule.AiringCancelled", 1, '{"x": 1}'), (SAMPLE, 1, '{"views": 5}')]
    figures.add(str(AIRING), T0 + timedelta(minutes=60), {"views": 1600, "comments": 200})
    assert figures.held[str(AIRING)]["views"] == (T0 + timedelta(minutes=60), 1700)
    assert figures.held[str(AIRING)]["comments"] == (T0 + timedelta(minutes=60), 200)
