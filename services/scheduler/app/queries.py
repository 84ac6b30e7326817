"""What the scheduler's answers read besides the read model's tables: the store's own record of
when events were recorded (a feed's DTSTAMP and Last-Modified)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from services.eventstore.port import EventStore


async def recorded_at(store: EventStore, positions: Collection[int]) -> dict[int, datetime]:
    """When the events at ``positions`` were recorded."""
    return {e.global_position: e.recorded_at for e in await store.read_positions(positions)}
