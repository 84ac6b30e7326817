"""The scheduler's commands, one async function each, typed on the event-store port.

Each loads the streams its command needs (the resource's description and schedule), decides,
appends, and returns what was recorded: the events and the schedule they leave. Nothing here
reads a read model, so a write never depends on how far a projection has got.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

from contracts.base import Event
from contracts.envelope import EventMetadata
from contracts.events.reference import (
    CampaignDefinition,
    CampaignPlanned,
    ResourceDescribed,
    ResourceDescription,
)
from contracts.events.schedule import AiringKind
from services.common.auth import Principal
from services.eventstore.port import EventStore
from services.scheduler.app.schedules import Schedules
from services.scheduler.app.streams import (
    Recorded,
    campaign_stream,
    contract_events,
    read_newer,
    record,
    resource_stream,
)
from services.scheduler.domain import scope
from services.scheduler.domain.bumped import Restoration, restore_bumped
from services.scheduler.domain.commands import (
    Command,
    ConfirmAiring,
    RestoreBumped,
    ScheduleAiring,
    check_actual_times,
)
from services.scheduler.domain.errors import DomainError, Forbidden, UnknownResource
from services.scheduler.domain.reference import check_kind, describe, latest, plan_campaign
from services.scheduler.domain.schedule import ResourceSchedule, decide


async def description_of(store: EventStore, resource_id: str) -> ResourceDescription | None:
    """The resource as its own stream last described it (None: never registered)."""
    current = latest(
        contract_events(await store.read_stream(resource_stream(resource_id))), ResourceDescribed
    )
    return current.description if current is not None else None


async def descriptions_of(store: EventStore, resource_ids: Iterable[str]) -> dict[str, ResourceDescription]:
    """The registered resources among ``resource_ids``, each as its stream last described it."""
    streams = {resource_stream(r): r for r in resource_ids}
    found = {}
    for stream_id, recorded in (await read_newer(store, dict.fromkeys(streams, 0))).items():
        current = latest(contract_events(recorded), ResourceDescribed)
        if current is not None:
            found[streams[stream_id]] = current.description
    return found


def check_plans_in(who: Principal, province: str) -> None:
    """Planners plan in their province (domain/scope.py); other roles are checked by their token."""
    if who.role == "planner":
        scope.check_plans_in(who.sub, who.province, province)


def check_plannable(
    who: Principal, resource_id: str, description: ResourceDescription | None, kind: AiringKind | None
) -> ResourceDescription:
    """A planner plans on a registered resource, in its province, of a type that airs ``kind``."""
    if description is None:
        raise UnknownResource(resource_id)
    check_plans_in(who, description.province)
    if kind is not None:
        check_kind(resource_id, description.type, kind)
    return description


async def plannable(
    store: EventStore, who: Principal, resource_id: str, kind: AiringKind | None = None
) -> ResourceDescription:
    """The resource a planner plans on, as its stream describes it (see :func:`check_plannable`)."""
    return check_plannable(who, resource_id, await description_of(store, resource_id), kind)


def check_operable(who: Principal, resource_id: str, description: ResourceDescription | None) -> None:
    """Operators act on their resources, planners in their province."""
    if not who.may_operate(resource_id, description.province if description else None):
        raise Forbidden(f"{who.role} {who.sub!r} may not operate {resource_id}")


async def operable(schedules: Schedules, who: Principal, resource_id: str) -> None:
    """Operators act on their resources, planners in their province (a description read moments
    ago serves; a refusal is made on the description as read now)."""
    description, read = await schedules.description(resource_id)
    try:
        check_operable(who, resource_id, description)
    except DomainError:
        if read:
            raise
        schedules.forget_description(resource_id)
        check_operable(who, resource_id, (await schedules.description(resource_id))[0])


async def _described(
    schedules: Schedules, resource_id: str, check: Callable[[ResourceDescription | None], object]
) -> tuple[ResourceSchedule, int, bool]:
    """The resource's schedule, once ``check`` passed on its description: both in one read, or
    none moments after the last (a refusal is made only on the description as read now)."""
    loaded, description = await schedules.load_with_description(resource_id)
    try:
        check(description)
    except DomainError:
        if loaded[2]:
            raise
        schedules.forget_description(resource_id)  # refuse only on the description as read now
        loaded, description = await schedules.load_with_description(resource_id)
        check(description)
    return loaded


# -- schedules ------------------------------------------------------------------------


async def schedule_airing(
    schedules: Schedules, who: Principal, command: ScheduleAiring, metadata: EventMetadata
) -> Recorded[ResourceSchedule]:
    # One read (or none, moments after the last) gives the resource's description and its schedule.
    resource_id = command.resource_id
    loaded = await _described(
        schedules, resource_id, lambda d: check_plannable(who, resource_id, d, command.kind)
    )
    return await schedules.execute(resource_id, command, metadata, loaded)


async def plan_on(
    schedules: Schedules,
    who: Principal,
    resource_id: str,
    command: Command,
    metadata: EventMetadata,
    kind: AiringKind | None = None,
) -> Recorded[ResourceSchedule]:
    """A planner's command on a resource's schedule: move or cancel an airing; plan, revise, end a series."""
    loaded = await _described(schedules, resource_id, lambda d: check_plannable(who, resource_id, d, kind))
    return await schedules.execute(resource_id, command, metadata, loaded)


async def operate_on(
    schedules: Schedules, who: Principal, resource_id: str, command: Command, metadata: EventMetadata
) -> Recorded[ResourceSchedule]:
    """An operator's command on an airing of a resource in its scope: confirm, correct, go live, end."""
    loaded = await _described(schedules, resource_id, lambda d: check_operable(who, resource_id, d))

    def decision(state: ResourceSchedule) -> tuple[list[Event], None]:
        if isinstance(command, ConfirmAiring) and (airing := state.airings.get(command.airing_id)):
            check_actual_times(
                airing.starts_at,
                airing.ends_at,
                command.actual_start,
                command.actual_end,
                command.confirmed_at,
            )
        return decide(state, command), None

    recorded, _ = await schedules.decide(resource_id, decision, metadata, loaded)
    return recorded


async def give_back_bumped(
    schedules: Schedules, who: Principal, resource_id: str, emergency_id: UUID, metadata: EventMetadata
) -> tuple[Recorded[ResourceSchedule], Restoration]:
    """Give the airings an emergency bumped their slots back, each where its slot is free again."""
    loaded = await _described(schedules, resource_id, lambda d: check_plannable(who, resource_id, d, None))

    def decision(state: ResourceSchedule) -> tuple[list[Event], Restoration]:
        restoration = restore_bumped(state, RestoreBumped(emergency_id))
        return restoration.events, restoration

    return await schedules.decide(resource_id, decision, metadata, loaded)


# -- reference data ---------------------------------------------------------------------


async def describe_resource(
    store: EventStore,
    who: Principal,
    resource_id: str,
    description: ResourceDescription,
    metadata: EventMetadata,
) -> tuple[Recorded[list[Event]], bool]:
    """Register a resource or change its description; True when it is new."""
    check_plans_in(who, description.province)
    known = await description_of(store, resource_id)
    if known is not None:
        check_plans_in(who, known.province)
    recorded = await record(
        store,
        resource_stream(resource_id),
        lambda history: describe(history, resource_id, description),
        metadata,
    )
    return recorded, known is None


async def save_campaign(
    store: EventStore,
    who: Principal,
    campaign_id: UUID,
    definition: CampaignDefinition,
    metadata: EventMetadata,
) -> tuple[Recorded[list[Event]], bool]:
    """Plan a campaign or change its definition; True when it is new. Its communes are checked by
    the caller (a list of many resources is a query)."""
    check_plans_in(who, definition.province)
    stream_id = campaign_stream(campaign_id)
    known = latest(contract_events(await store.read_stream(stream_id)), CampaignPlanned)
    if known is not None:
        check_plans_in(who, known.definition.province)
    recorded = await record(
        store, stream_id, lambda history: plan_campaign(history, campaign_id, definition), metadata
    )
    return recorded, known is None
