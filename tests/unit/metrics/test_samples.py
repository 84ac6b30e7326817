"""The counting rules: which samples are stored, and how a figure moves (no IO)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from contracts.events.metrics import SampleRecorded
from services.metrics.domain.figures import Figures, figures_after
from services.metrics.domain.samples import check_batch

LIVESTREAM = uuid4()  # "Livestream BHXH Đắk Lắk tháng 8"
NOW = datetime(2023, 8, 25, 21, 0, tzinfo=UTC)


def known(airing_id):
    return airing_id == LIVESTREAM


def sample(minutes, **counters):
    return SampleRecorded(
        airing_id=LIVESTREAM,
        sampled_at=NOW - timedelta(minutes=minutes),
        source="facebook",
        counters=counters,
    )


def test_a_batch_keeps_the_valid_items_and_says_why_of_the_others():
    items = [
        {"airing_id": str(LIVESTREAM), "sampled_at": "2023-08-26T03:30", "source": "facebook",
         "counters": {"views": 1700, "interactions": 778, "shares": 139, "comments": 105}},
        {"airing_id": str(LIVESTREAM), "sampled_at": "2023-08-26T03:31", "counters": {"views": -1}},
        {"airing_id": str(uuid4()), "sampled_at": "2023-08-26T03:31", "counters": {"views": 3}},
        {"airing_id": str(LIVESTREAM), "sampled_at": "2023-09-30T00:00", "counters": {"views": 3}},
        {"airing_id": "not-a-uuid", "sampled_at": "2023-08-26T03:31", "counters": {"views": 3}},
        {"airing_id": str(LIVESTREAM), "sampled_at": "2023-08-26T03:32", "counters": {"peak_viewers": 212}},
    ]  # fmt: skip
    accepted, rejected = check_batch(items, known, NOW)
    assert [s.counters for s in accepted] == [
        {"views": 1700, "interactions": 778, "shares": 139, "comments": 105},
        {"peak_viewers": 212},  # a counter the platform started reporting: fine
    ]
    assert accepted[0].sampled_at.utcoffset() == timedelta(hours=7)  # no offset: Vietnam time
    assert [(r.index, r.field) for r in rejected] == [
        (1, "counters.views"), (2, "airing_id"), (3, "sampled_at"), (4, "airing_id"),
    ]  # fmt: skip
    assert "negative" in rejected[0].reason and "future" in rejected[2].reason


def test_an_older_sample_never_lowers_the_figure():
    figures = Figures()
    figures.add_all(
        (LIVESTREAM, s.sampled_at, s.counters) for s in [sample(10, views=1500), sample(2, views=1700)]
    )
    assert figures.held[LIVESTREAM]["views"] == (NOW - timedelta(minutes=2), 1700)
    late = sample(5, views=1600, comments=105)  # delivered last, read earlier
    figures.add(LIVESTREAM, late.sampled_at, late.counters)
    assert figures.held[LIVESTREAM]["views"] == (NOW - timedelta(minutes=2), 1700)
    assert figures.held[LIVESTREAM]["comments"][1] == 105  # a counter it had not reported yet still counts


def test_of_two_readings_at_one_instant_the_larger_wins():
    assert (
        figures_after([sample(3, views=1650), sample(3, views=1700), sample(3, views=1600)])["views"][1]
        == 1700
    )


def test_the_order_of_arrival_does_not_matter():
    readings = [sample(m, views=v, shares=s) for m, v, s in ((30, 400, 20), (20, 900, 60), (1, 1700, 139))]
    assert figures_after(readings) == figures_after(reversed(readings))
    assert figures_after(readings)["shares"][1] == 139


def test_two_spellings_of_one_airing_merge_by_the_same_rule():
    figures = Figures()
    figures.add(str(LIVESTREAM), NOW, {"views": 1700})
    figures.add(str(LIVESTREAM).upper(), NOW - timedelta(minutes=1), {"views": 1800, "shares": 139})
    merged = figures.take(lambda airing: airing.lower()).held
    assert merged == {str(LIVESTREAM): {"views": (NOW, 1700), "shares": (NOW - timedelta(minutes=1), 139)}}
    assert figures.held == {}


def test_a_counter_no_longer_reported_keeps_its_last_figure():
    figures = figures_after([sample(10, views=1500, reactions=700), sample(1, views=1700)])
    assert figures["reactions"][1] == 700 and figures["views"][1] == 1700


def test_counters_are_bounded_at_the_door_to_what_every_json_client_reads_exactly():
    at = "2023-08-26T03:30"
    items = [
        {"airing_id": str(LIVESTREAM), "sampled_at": at, "counters": {"views": 2**53 - 1}},
        {"airing_id": str(LIVESTREAM), "sampled_at": at, "counters": {"views": 2**53}},
        {"airing_id": str(LIVESTREAM), "sampled_at": at, "counters": {"shares": 2**63}},
    ]
    accepted, rejected = check_batch(items, known, NOW)
    assert [s.counters for s in accepted] == [{"views": 2**53 - 1}]
    assert [(r.index, r.field) for r in rejected] == [(1, "counters.views"), (2, "counters.shares")]
    assert "2^53 − 1" in rejected[0].reason
