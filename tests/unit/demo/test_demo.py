"""The demo province and its story, without any IO: the figures the seeds report follow from them."""

import random
from collections import Counter
from datetime import datetime
from itertools import pairwise

from contracts.localtime import VIETNAM
from services.demo import province as demo
from services.demo.as_run import as_run
from services.demo.counters import grow, replay, split


def test_129_communes_in_three_languages_make_664_friday_bulletins():
    communes = demo.communes()
    assert len(communes) == 129
    languages = Counter(c.languages for c in communes)
    assert languages == {("Kinh",): 92, ("Kinh", "Êđê"): 22, ("Kinh", "M'nông"): 15}
    fridays_in_august_2023 = 4
    assert sum(len(c.languages) for c in communes) * fridays_in_august_2023 == demo.AUGUST_AIRED == 664


def test_commune_ids_and_codes_are_unique_and_consistent():
    communes = demo.communes()
    assert len({c.resource_id for c in communes}) == len({c.code for c in communes}) == 129
    assert all(len(c.code) == 5 and c.code.startswith("24") for c in communes)
    assert [c.code for c in communes] == sorted(c.code for c in communes)
    assert "loudspeaker:xa-ea-tu" in {c.resource_id for c in communes}  # the README's and the tokens' commune


def test_slugs_drop_diacritics_and_keep_the_d_of_dj():
    assert demo.slug("Xã Đắk Phơi") == "xa-dak-phoi"
    assert demo.slug("Xã Ea M'nang") == "xa-ea-m-nang"
    assert demo.slug("Xã Cư Êbur") == "xa-cu-ebur"


def test_operators_miss_one_in_fifty_and_every_miss_is_made_up():
    records = [as_run(i) for i in range(664)]
    missed = [r for r in records if r.outcome == "missed"]
    assert len(missed) == 14
    assert all(r.reason and r.make_up for r in missed)
    assert all(r.reason for r in records if r.outcome == "partial")
    assert any(r.late_minutes for r in records if r.outcome == "aired")
    # The make-ups air, so the month's aired count stays at the number planned by the fan-out.
    assert sum(r.outcome != "missed" for r in records) + len(missed) == 664


def test_a_replayed_livestream_climbs_and_ends_exactly_at_the_seed_figures():
    start = datetime(2023, 8, 24, 20, 0, tzinfo=VIETNAM)
    readings = replay(start, 90, demo.AUGUST_LIVESTREAM_FINAL)
    assert readings[-1][1] == {"views": 1700, "interactions": 778, "shares": 139, "comments": 105}
    for (earlier_at, earlier), (later_at, later) in pairwise(readings):
        assert earlier_at < later_at
        assert all(later[k] >= earlier[k] for k in earlier)


def test_a_live_livestream_only_grows():
    rng, figures = random.Random(1), {}
    for _ in range(50):
        following = grow(figures, rng)
        assert all(following[k] >= figures.get(k, 0) for k in following)
        assert following["views"] > figures.get("views", 0)
        figures = following
    assert figures["interactions"] < figures["views"]


def test_the_pages_posts_add_up_to_the_seed_figures():
    assert len(demo.FANPAGE_POST_DAYS) + 1 == 40  # 39 posts and the livestream: "40 tin, bài, video"
    assert len(demo.ZALO_POST_DAYS) == 8
    shares = split(21500, [40 - d for d in demo.FANPAGE_POST_DAYS])
    assert sum(shares) == 21500 and all(s > 0 for s in shares)
    assert split(80, [1, 1, 1]) == [27, 27, 26]
