"""Events of the counting context (wire names ``metrics.*``)."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import Contract, Event
from contracts.registry import EventRegistry

# The fixed counters of SampleRecorded v1, before platforms could name their own.
V1_COUNTER_FIELDS = ("views", "reactions", "shares", "comments")


class SampleRecorded(Event):
    """A cumulative counter reading for one airing at one time.

    Version 2 holds an open map of named counters, because platforms retire and
    rename counters often; version 1 had four fixed fields and is upcast on read.
    """

    wire_name: ClassVar[str] = "metrics.SampleRecorded"
    schema_version: ClassVar[int] = 2

    airing_id: UUID
    sampled_at: AwareDatetime
    source: str = Field(min_length=1, max_length=120)
    counters: dict[str, int] = Field(min_length=1)


def _sample_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    readings = {name: data.pop(name, None) for name in V1_COUNTER_FIELDS}
    data["counters"] = {name: value for name, value in readings.items() if value is not None}
    return data


def register_upcasters(registry: EventRegistry) -> None:
    registry.upcaster(SampleRecorded.wire_name, 1)(_sample_v1_to_v2)


class CounterFigure(Contract):
    value: int
    sampled_at: AwareDatetime


class StatisticsUpdated(Event):
    """An airing's figures changed (published for other systems; derived, never stored)."""

    wire_name: ClassVar[str] = "metrics.StatisticsUpdated"
    schema_version: ClassVar[int] = 1

    airing_id: UUID
    campaign_id: UUID | None = None
    resource_id: str | None = None
    position: int = Field(description="global position of the metrics log the figures reflect")
    counters: dict[str, CounterFigure]


EVENTS: tuple[type[Event], ...] = (SampleRecorded, StatisticsUpdated)
