"""How many wrong short codes a client may try: a grant's code is short enough to type, so guessing
it must be slow (OWASP's "Blocking Brute Force Attacks": limit failed attempts per source).

A client address gets ``FAILURES`` wrong codes per sliding ``WINDOW``; one more attempt within it is
refused until the oldest of those failures leaves the window. A right code never counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

FAILURES = 10
WINDOW = timedelta(minutes=10)


def retry_after(failures: Iterable[datetime], now: datetime) -> int | None:
    """Seconds the address must wait before its next attempt, or None if it may try now.

    ``failures``: the instants of the address's wrong codes (older ones are ignored)."""
    recent = sorted(at for at in failures if now - at < WINDOW)
    if len(recent) < FAILURES:
        return None
    # The attempt that would be the (FAILURES+1)-th in a window waits for the oldest that blocks it.
    frees_at = recent[-FAILURES] + WINDOW
    return max(1, math.ceil((frees_at - now).total_seconds()))
