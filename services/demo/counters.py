"""Plausible livestream counters: the replay of a finished livestream and the growth of a live one."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

COUNTERS = ("views", "interactions", "shares", "comments")


def replay(
    starts_at: datetime, minutes: int, final: dict[str, int], every: int = 5
) -> list[tuple[datetime, dict[str, int]]]:
    """Cumulative readings every ``every`` minutes of a livestream, ending exactly at ``final``.

    Viewers come quickly after the start and slower later (a saturating curve);
    nine tenths of each figure is reached by the end of the stream and the last
    reading, the next morning, holds the final figures (replays keep counting).
    """
    steps = max(1, minutes // every)
    readings: list[tuple[datetime, dict[str, int]]] = []
    for step in range(1, steps + 1):
        share = 0.9 * (1 - math.exp(-3 * step / steps)) / (1 - math.exp(-3))
        readings.append(
            (starts_at + timedelta(minutes=step * every), {k: int(v * share) for k, v in final.items()})
        )
    readings.append((starts_at + timedelta(hours=12), dict(final)))
    return readings


def grow(current: dict[str, int], rng: random.Random) -> dict[str, int]:
    """The next reading of a live livestream: a few more views, and the rest in proportion to them."""
    new_views = rng.randint(2, 30)
    nxt = dict(current)
    nxt["views"] = current.get("views", 0) + new_views
    nxt["interactions"] = current.get("interactions", 0) + sum(rng.random() < 0.45 for _ in range(new_views))
    nxt["shares"] = current.get("shares", 0) + sum(rng.random() < 0.08 for _ in range(new_views))
    nxt["comments"] = current.get("comments", 0) + sum(rng.random() < 0.06 for _ in range(new_views))
    watching = max(5, int(current.get("peak_viewers", 20) * rng.uniform(0.8, 1.15)) + rng.randint(0, 6))
    nxt["peak_viewers"] = max(current.get("peak_viewers", 0), watching)
    return nxt


def split(total: int, weights: list[int]) -> list[int]:
    """``total`` shared in proportion to ``weights``, in whole numbers that add up to it exactly."""
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    # The units left go to the largest remainders (ties: the earlier one), so the sum is exact.
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares
