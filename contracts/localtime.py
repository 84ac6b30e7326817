"""Wall-clock time: entered and shown in the province's zone, stored in UTC.

Vietnam has had no daylight-saving time since 1975, but the rules here hold for
zones that do (tested with Europe/London): a local time that does not exist (the
spring gap) is refused, an ambiguous one (the autumn overlap) takes the first
occurrence unless ``fold=1`` is asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class NonexistentLocalTime(ValueError):
    """A wall-clock time skipped by a daylight-saving change."""


def to_utc(local: datetime, zone: ZoneInfo = VIETNAM) -> datetime:
    """A local wall-clock time (naive, or already aware) as a UTC instant."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    aware = local.replace(tzinfo=zone)
    # A time in the spring gap does not survive a round trip through UTC.
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
        raise NonexistentLocalTime(f"{local.isoformat()} does not exist in {zone.key}")
    return aware.astimezone(UTC)


def to_local(instant: datetime, zone: ZoneInfo = VIETNAM) -> datetime:
    """A UTC instant as wall-clock time in ``zone`` (aware)."""
    if instant.tzinfo is None:
        raise ValueError("a stored instant must carry its zone (UTC)")
    return instant.astimezone(zone)
