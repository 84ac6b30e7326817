"""Reference data and campaigns: a description replaces the one before it, the same one again is a no-op."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from uuid import UUID

from contracts.base import Event
from contracts.events.reference import (
    KINDS_OF,
    CampaignDefinition,
    CampaignPlanned,
    ResourceDescribed,
    ResourceDescription,
    ResourceType,
)
from contracts.events.schedule import AiringKind
from services.scheduler.domain.errors import InvalidCommand
from services.scheduler.domain.recurrence import InvalidRecurrence, Recurrence

ANY_DAY = date(2024, 1, 1)  # a slot's rule is checked from some day; which one does not matter


def latest(history: list[Event], kind: type[Event]) -> Event | None:
    found = [e for e in history if isinstance(e, kind)]
    return found[-1] if found else None


def describe(history: list[Event], resource_id: str, description: ResourceDescription) -> list[Event]:
    """Register a resource or change its description."""
    current = latest(history, ResourceDescribed)
    if current is not None and current.description.type is not description.type:
        raise InvalidCommand("type", f"{resource_id} is a {current.description.type}; it cannot change type")
    for i, slot in enumerate(description.slots):
        try:
            Recurrence(
                slot.rule, datetime.combine(ANY_DAY, slot.start), timedelta(minutes=slot.duration_minutes)
            )
        except InvalidRecurrence as exc:
            raise InvalidCommand(f"slots[{i}].rule", str(exc)) from None
    if current is not None and current.description == description:
        return []
    return [ResourceDescribed(resource_id=resource_id, description=description)]


def plan_campaign(history: list[Event], campaign_id: UUID, definition: CampaignDefinition) -> list[Event]:
    """Plan a campaign or change its definition."""
    current = latest(history, CampaignPlanned)
    if current is not None and current.definition == definition:
        return []
    return [CampaignPlanned(campaign_id=campaign_id, definition=definition)]


def check_kind(resource_id: str, resource_type: ResourceType, kind: AiringKind) -> None:
    """A commune's loudspeakers air loudspeaker airings, a programme radio, a page livestreams and posts."""
    if kind not in KINDS_OF[resource_type]:
        kinds = " or ".join(sorted(KINDS_OF[resource_type]))
        raise InvalidCommand("kind", f"{resource_id} is a {resource_type}: it airs {kinds}, not {kind}")


def commune_errors(
    ids: list[str], found: Mapping[str, ResourceDescription], province: str | None = None
) -> list[dict[str, str]]:
    """Field errors for the ids (``communes[i]``) that are not registered communes (of ``province``)."""
    errors = []
    for i, resource_id in enumerate(ids):
        described = found.get(resource_id)
        if described is None:
            errors.append({"field": f"communes[{i}]", "reason": f"no resource {resource_id!r}"})
        elif described.type is not ResourceType.commune:
            reason = f"{resource_id} is a {described.type.value}, not a commune"
            errors.append({"field": f"communes[{i}]", "reason": reason})
        elif province is not None and described.province != province:
            errors.append({"field": f"communes[{i}]", "reason": f"{resource_id} is in {described.province}"})
    return errors
