"""Bulk fan-out: one bulletin to many communes, each in the languages its loudspeakers use.

A commune's loudspeakers air one thing at a time, so its languages follow one
another inside its window (Kinh, then Êđê, then M'nông), separated by
``gap_minutes``. ``stagger_minutes`` shifts each next commune later inside its
window, wrapping round, so that a district's operators are not all busy at the
same minute. Airing ids derive from the plan id, the commune, the day and the
language, so planning the same fan-out twice schedules nothing new.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from contracts.events.schedule import AiringKind, Priority
from contracts.localtime import VIETNAM
from services.scheduler.domain.commands import ScheduleAiring
from services.scheduler.domain.errors import InvalidCommand

FAN_OUTS = uuid.UUID("3f0e2f9a-6a1d-4c36-9a57-1d2b0c8e4f71")


@dataclass(frozen=True)
class CommuneSystem:
    """What the fan-out needs to know of a commune's loudspeakers."""

    resource_id: str
    languages: tuple[str, ...]
    windows: tuple[tuple[time, time], ...]


@dataclass(frozen=True)
class FanOut:
    plan_id: uuid.UUID
    title: str
    days: Sequence[date]
    duration_minutes: int
    topic: str | None = None
    script: str | None = None
    audio_ref: str | None = None
    campaign_id: uuid.UUID | None = None
    priority: Priority = Priority.normal
    window: int = 0  # which of the commune's usual windows
    start: time | None = None  # a fixed local start instead of the commune's window
    languages: tuple[str, ...] | None = None  # only these of each commune's languages
    gap_minutes: int = 0
    stagger_minutes: int = 0
    scripts: dict[str, str] = field(default_factory=dict)  # a script per language


@dataclass(frozen=True)
class Unplaceable:
    """A commune the fan-out cannot place (no window of that number, or too short for its languages)."""

    resource_id: str
    reason: str


def airing_id(plan_id: uuid.UUID, resource_id: str, day: date, language: str) -> uuid.UUID:
    return uuid.uuid5(FAN_OUTS, f"{plan_id}|{resource_id}|{day.isoformat()}|{language}")


def _ids_of(plan_id: uuid.UUID, resource_id: str):
    """``airing_id`` for one commune, hashing the shared prefix once (a national plan has 200k ids)."""
    prefix = hashlib.sha1(FAN_OUTS.bytes + f"{plan_id}|{resource_id}|".encode(), usedforsecurity=False)

    def airing_id_on(day: date, language: str) -> uuid.UUID:
        h = prefix.copy()
        h.update(f"{day.isoformat()}|{language}".encode())
        return uuid.UUID(bytes=h.digest()[:16], version=5)

    return airing_id_on


def fan_out(
    communes: Sequence[CommuneSystem], plan: FanOut
) -> tuple[dict[str, list[ScheduleAiring]], list[Unplaceable]]:
    """The airings per commune resource, and the communes that cannot be placed."""
    if plan.duration_minutes <= 0:
        raise InvalidCommand("duration_minutes", "must be positive")
    if not plan.days:
        raise InvalidCommand("days", "the plan covers no day")
    length = timedelta(minutes=plan.duration_minutes)
    gap = timedelta(minutes=plan.gap_minutes)
    out: dict[str, list[ScheduleAiring]] = {}
    unplaceable: list[Unplaceable] = []
    starts: dict[tuple[date, time], datetime] = {}  # the same local start recurs in every commune
    for index, commune in enumerate(communes):
        languages = [lang for lang in commune.languages if plan.languages is None or lang in plan.languages]
        if not languages:
            continue  # none of the asked languages is spoken there: nothing to air
        needed = length * len(languages) + gap * (len(languages) - 1)
        if plan.start is not None:
            first = plan.start
            room = timedelta(0)
        else:
            if plan.window >= len(commune.windows):
                unplaceable.append(
                    Unplaceable(commune.resource_id, f"has no window number {plan.window + 1}")
                )
                continue
            opens, closes = commune.windows[plan.window]
            room = _minutes(closes) - _minutes(opens) - needed
            if room < timedelta(0):
                unplaceable.append(
                    Unplaceable(
                        commune.resource_id,
                        f"{len(languages)} languages need {needed.seconds // 60} min, "
                        f"the window {opens:%H:%M}-{closes:%H:%M} is shorter",
                    )
                )
                continue
            first = opens
        shift = _stagger(index, plan.stagger_minutes, room)
        id_of = _ids_of(plan.plan_id, commune.resource_id)
        airings = []
        for day in plan.days:
            start = starts.get((day, first))
            if start is None:
                start = starts[day, first] = datetime.combine(day, first, VIETNAM).astimezone(UTC)
            start += shift
            for language in languages:
                starts_at = start
                airings.append(
                    ScheduleAiring(
                        airing_id=id_of(day, language),
                        resource_id=commune.resource_id,
                        kind=AiringKind.loudspeaker,
                        starts_at=starts_at,
                        ends_at=starts_at + length,
                        title=plan.title,
                        topic=plan.topic,
                        language=language,
                        campaign_id=plan.campaign_id,
                        priority=plan.priority,
                        script=plan.scripts.get(language, plan.script),
                        audio_ref=plan.audio_ref,
                    )
                )
                start += length + gap
        out[commune.resource_id] = airings
    return out, unplaceable


def _minutes(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute)


def _stagger(index: int, stagger_minutes: int, room: timedelta) -> timedelta:
    if not stagger_minutes:
        return timedelta(0)
    if room <= timedelta(0):
        return timedelta(minutes=index * stagger_minutes)  # a fixed start has no window to wrap in
    slots = int(room.total_seconds() // 60 // stagger_minutes) + 1
    return timedelta(minutes=(index % slots) * stagger_minutes)
