"""Which samples are stored: the checks of a batch, without IO.

Counters are an open set: a source may stop reporting one or start reporting a
new one at any time, and neither affects the others. How a stored reading moves
a figure is :mod:`services.metrics.domain.figures`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import orjson
from pydantic import ValidationError

from contracts.events.metrics import SampleRecorded
from contracts.http.metrics import SampleIn
from contracts.http.types import VIETNAM

SAMPLE_IDS = UUID("8e2b1c4d-5a6f-4b7c-9d8e-0f1a2b3c4d5e")


def sample_id(sample: SampleRecorded) -> UUID:
    """A sample's event id, from its content (airing, time, source, counters): a batch sent again,
    by HTTP retry or AMQP redelivery, stores nothing twice."""
    counters = orjson.dumps(sample.counters, option=orjson.OPT_SORT_KEYS).decode()
    return uuid5(SAMPLE_IDS, f"{sample.airing_id}|{sample.sampled_at.isoformat()}|{sample.source}|{counters}")


def samples_stream(airing_id: UUID) -> str:
    """The stream that holds an airing's samples: its readings over time are that stream."""
    return f"samples-{airing_id}"


FUTURE_TOLERANCE = timedelta(minutes=5)
"""Clocks drift: a reading a few minutes ahead of ours is believed, one further ahead is refused."""

COUNTER_NAME_MAX = 60
COUNTER_MAX = 2**53 - 1
"""The largest counter kept: every JSON client (a browser's Number) reads it exactly, and sums of
many fit the database's columns and Python's figures alike."""


@dataclass(frozen=True)
class Rejection:
    index: int
    field: str
    reason: str


def check_batch(
    items: list[dict[str, Any]], is_known: Callable[[UUID], bool], now: datetime
) -> tuple[list[SampleRecorded], list[Rejection]]:
    """The valid samples of a batch, and a reason for each item that is not."""
    accepted: list[SampleRecorded] = []
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        try:
            sample = SampleIn.model_validate(item)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
            rejected.append(Rejection(index, ".".join(map(str, error["loc"])) or "item", message))
            continue
        problem = _problem(sample, is_known, now)
        if problem is not None:
            rejected.append(Rejection(index, *problem))
            continue
        sampled_at = (
            sample.sampled_at if sample.sampled_at.tzinfo else sample.sampled_at.replace(tzinfo=VIETNAM)
        )
        accepted.append(
            SampleRecorded(
                airing_id=sample.airing_id,
                sampled_at=sampled_at,
                source=sample.source,
                counters=sample.counters,
            )
        )
    return accepted, rejected


def _problem(sample: SampleIn, is_known: Callable[[UUID], bool], now: datetime) -> tuple[str, str] | None:
    for name, value in sample.counters.items():
        if not name or len(name) > COUNTER_NAME_MAX:
            return "counters", f"counter names are 1..{COUNTER_NAME_MAX} characters"
        if value < 0:
            return f"counters.{name}", "a cumulative counter cannot be negative"
        if value > COUNTER_MAX:
            return f"counters.{name}", f"is larger than {COUNTER_MAX} (2^53 − 1), the largest counter kept"
    sampled_at = sample.sampled_at if sample.sampled_at.tzinfo else sample.sampled_at.replace(tzinfo=VIETNAM)
    if sampled_at > now + FUTURE_TOLERANCE:
        return "sampled_at", f"is in the future ({sampled_at.isoformat()})"
    if not is_known(sample.airing_id):
        return "airing_id", f"no airing {sample.airing_id} is known"
    return None
