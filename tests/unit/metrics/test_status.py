"""The status sets: one meaning for aired, planned, missed (no IO)."""

from contracts.events.status import (
    AIRED,
    GONE,
    MISSED,
    PARTIAL,
    PENDING,
    PLANNED,
    AiringStatus,
    counts_as_aired,
    sql_set,
)


def test_every_status_is_gone_or_planned_and_planned_is_pending_aired_or_missed():
    assert GONE | PLANNED == set(AiringStatus) and not GONE & PLANNED
    assert PENDING | AIRED | MISSED == PLANNED
    assert not (PENDING & AIRED or PENDING & MISSED or AIRED & MISSED)


def test_partial_counts_as_aired_and_an_ended_livestream_aired():
    assert PARTIAL <= AIRED
    assert counts_as_aired("partial") and counts_as_aired("ended") and counts_as_aired("aired")
    assert not counts_as_aired("missed") and not counts_as_aired("live") and not counts_as_aired("scheduled")


def test_a_post_is_published_by_its_confirmation_or_its_first_sample():
    assert counts_as_aired("aired", "post")
    assert counts_as_aired("scheduled", "post", sampled=True)
    assert not counts_as_aired("scheduled", "post")
    # A sample does not bring back a cancelled post, nor make a bulletin aired.
    assert not counts_as_aired("cancelled", "post", sampled=True)
    assert not counts_as_aired("missed", "post", sampled=True)
    assert not counts_as_aired("scheduled", "loudspeaker", sampled=True)


def test_sets_spell_the_same_in_sql_every_time():
    assert sql_set(AIRED) == "('aired', 'ended', 'partial')"
    assert sql_set(GONE) == "('bumped', 'cancelled')"
