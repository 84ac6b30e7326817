"""Reference data and campaigns of the planning context (wire names ``schedule.*``).

A resource is what airs one thing at a time: a commune's loudspeaker system, a
radio station's programme, a social page or channel. Its description is the
whole current picture (the newest one wins), so a consumer never has to merge.
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import Contract, Event
from contracts.events.schedule import AiringKind


class ResourceType(StrEnum):
    commune = "commune"  # the commune's loudspeaker system
    programme = "programme"  # a radio station's programme
    page = "page"  # a social page or channel


class Platform(StrEnum):
    facebook = "facebook"
    zalo = "zalo"
    youtube = "youtube"
    tiktok = "tiktok"


KIND_OF: dict[ResourceType, AiringKind] = {
    ResourceType.commune: AiringKind.loudspeaker,
    ResourceType.programme: AiringKind.radio,
    ResourceType.page: AiringKind.livestream,
}
"""The main kind of airing each type of resource carries."""

KINDS_OF: dict[ResourceType, frozenset[AiringKind]] = {
    ResourceType.commune: frozenset({AiringKind.loudspeaker}),
    ResourceType.programme: frozenset({AiringKind.radio}),
    ResourceType.page: frozenset({AiringKind.livestream, AiringKind.post}),
}
"""Every kind of airing each type of resource carries (a page streams and posts)."""


class Window(Contract):
    """A usual broadcast window of a commune's loudspeakers, local time (e.g. 05:30-06:30)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Slot(Contract):
    """A programme's recurring slot: an RRULE in local time ("Giờ thứ 9": Mon-Fri 21:00, 15 min)."""

    rule: str = Field(min_length=1, max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"])
    start: time
    duration_minutes: int = Field(gt=0, le=24 * 60)


class ResourceDescription(Contract):
    """What a resource is; fields that do not apply to its type stay empty."""

    type: ResourceType
    name: str = Field(min_length=1, max_length=200, examples=["Xã Ea Tu"])
    province: str = Field(min_length=1, max_length=40, examples=["dak-lak"])
    code: str | None = Field(default=None, max_length=40, description="official code (communes)")
    district: str | None = Field(default=None, max_length=200)
    languages: list[str] = Field(default_factory=list, examples=[["Kinh", "Êđê", "M'nông"]])
    windows: list[Window] = Field(default_factory=list)
    station: str | None = Field(default=None, max_length=200, examples=["Đài PT-TH Đắk Lắk"])
    slots: list[Slot] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list, examples=[["Câu chuyện chính sách"]])
    platform: Platform | None = None
    url: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _fits_type(self) -> ResourceDescription:
        if self.type is ResourceType.commune and not self.languages:
            raise ValueError("a commune names the languages its loudspeakers use")
        if self.type is ResourceType.page and self.platform is None:
            raise ValueError("a page names its platform")
        if self.type is ResourceType.programme and not self.station:
            raise ValueError("a programme names its station")
        return self


class ResourceDescribed(Event):
    """A resource was registered or its description changed."""

    wire_name: ClassVar[str] = "schedule.ResourceDescribed"
    schema_version: ClassVar[int] = 1

    resource_id: str = Field(min_length=1, max_length=120)
    description: ResourceDescription


class CampaignTargets(Contract):
    airings_per_commune: int | None = Field(default=None, ge=0)
    languages: list[str] = Field(default_factory=list, description="each target commune in each of these")
    livestreams: int | None = Field(default=None, ge=0)
    airings: int | None = Field(default=None, ge=0, description="a total, when not per commune")


class CampaignDefinition(Contract):
    name: str = Field(min_length=1, max_length=300, examples=["BHYT học sinh, sinh viên"])
    topic: str | None = Field(default=None, max_length=300)
    province: str = Field(min_length=1, max_length=40)
    starts_on: date
    ends_on: date
    communes: list[str] = Field(default_factory=list, description="resource ids of the target communes")
    targets: CampaignTargets = Field(default_factory=CampaignTargets)

    @model_validator(mode="after")
    def _period(self) -> CampaignDefinition:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class CampaignPlanned(Event):
    """A campaign was planned, or its definition changed (the newest one wins)."""

    wire_name: ClassVar[str] = "schedule.CampaignPlanned"
    schema_version: ClassVar[int] = 1

    campaign_id: UUID
    definition: CampaignDefinition


EVENTS: tuple[type[Event], ...] = (ResourceDescribed, CampaignPlanned)
