"""How far ahead series are kept scheduled, and the wall-clock time a series speaks in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.localtime import VIETNAM


def horizon(days: int, now: datetime) -> datetime:
    """Airings of series exist up to the end of the local day ``days`` from ``now``."""
    today = now.astimezone(VIETNAM).date()
    return datetime.combine(today + timedelta(days=days + 1), datetime.min.time(), VIETNAM).astimezone(UTC)


def wall_clock(value: datetime) -> datetime:
    """An occurrence as the series knows it: naive Vietnam wall-clock time."""
    return value.astimezone(VIETNAM).replace(tzinfo=None) if value.tzinfo else value


def local_minute(now: datetime) -> datetime:
    """``now`` as the minute a "from now on" revision takes effect, in the series' wall-clock time."""
    return wall_clock(now).replace(second=0, microsecond=0)
