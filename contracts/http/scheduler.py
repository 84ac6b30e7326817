"""HTTP bodies of the scheduler API (/v1). Times are entered and shown in Asia/Ho_Chi_Minh.

A time without an offset (``2023-08-07T17:30``) is local wall-clock time in
Vietnam; one with an offset is taken as the instant it names. Responses always
show local time with its offset (``2023-08-07T17:30:00+07:00``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from contracts.base import Contract
from contracts.events.reference import (
    CampaignDefinition,
    CampaignTargets,
    Platform,
    ResourceDescription,
    ResourceType,
    Slot,
    Window,
)
from contracts.events.schedule import AiringKind, Outcome, Priority
from contracts.events.series import SeriesDefinition, SkippedOccurrence
from contracts.events.status import AiringStatus
from contracts.http.types import (
    AudioRef,
    Code,
    Count,
    Cursor,
    Day,
    DayOrTime,
    Label,
    Language,
    Limit,
    LocalDateTime,
    Minutes,
    PlaceName,
    Province,
    Query,
    Reason,
    ResourceRef,
    Rule,
    Script,
    TimeOfDay,
    Title,
    Token,
    Topic,
    Url,
    WithTotal,
    Zone,
    check_length,
)


class AiringRequest(Contract):
    """Plan one airing on one resource."""

    airing_id: UUID | None = Field(
        default=None, description="optional; derived from the Idempotency-Key when absent"
    )
    kind: AiringKind
    resource_id: ResourceRef = Field(examples=["loudspeaker:xa-ea-tu"])
    starts_at: LocalDateTime
    ends_at: LocalDateTime | None = Field(default=None, description="at most 24 hours after starts_at")
    duration_minutes: Minutes | None = None
    title: Title
    topic: Topic | None = None
    language: Language | None = None
    campaign_id: UUID | None = None
    priority: Priority = Priority.normal
    script: Script | None = None
    audio_ref: AudioRef | None = None
    makeup_of: UUID | None = Field(
        default=None, description="the missed airing on the same resource that this one makes up for"
    )

    @field_validator("ends_at")
    @classmethod
    def _length(cls, ends_at: datetime | None, info: ValidationInfo) -> datetime | None:
        if "starts_at" in info.data:
            check_length(info.data["starts_at"], ends_at, None)
        return ends_at

    @model_validator(mode="after")
    def _one_end(self) -> AiringRequest:
        if (self.ends_at is None) == (self.duration_minutes is None):
            raise ValueError("give exactly one of ends_at and duration_minutes")
        return self


class RescheduleRequest(Contract):
    starts_at: LocalDateTime
    ends_at: LocalDateTime | None = Field(default=None, description="at most 24 hours after starts_at")
    duration_minutes: Minutes | None = None
    reason: Reason | None = None

    @field_validator("ends_at")
    @classmethod
    def _length(cls, ends_at: datetime | None, info: ValidationInfo) -> datetime | None:
        if "starts_at" in info.data:
            check_length(info.data["starts_at"], ends_at, None)
        return ends_at

    @model_validator(mode="after")
    def _one_end(self) -> RescheduleRequest:
        if self.ends_at is not None and self.duration_minutes is not None:
            raise ValueError("give at most one of ends_at and duration_minutes")
        return self


class CancelRequest(Contract):
    reason: Reason | None = None


class ConfirmationRequest(Contract):
    """An operator's as-run record."""

    outcome: Outcome
    actual_start: LocalDateTime | None = Field(
        default=None, description="within a day of the airing's window, not in the future"
    )
    actual_end: LocalDateTime | None = Field(
        default=None, description="within a day of the airing's window, not in the future"
    )
    reason: Reason | None = Field(default=None, examples=["mất điện"])


class LivestreamLiveRequest(Contract):
    url: Url | None = None
    at: LocalDateTime | None = Field(
        default=None,
        description="when it really went live (on its day, not in the future); now when absent",
        examples=["2023-08-25T20:02"],
    )


class LivestreamEndRequest(Contract):
    at: LocalDateTime | None = Field(
        default=None,
        description="when it really ended (after it went live, not in the future); now when absent",
    )


# -- query parameters (one model per endpoint; the OpenAPI document lists them from here) -----


class PageQuery(Query):
    """Keyset pagination: ``limit`` items, the next page from ``cursor``; a total only when asked."""

    cursor: Cursor | None = None
    limit: Limit = Field(default=100, le=1000)
    total: WithTotal = False


class HistoryQuery(PageQuery):
    """A history's events oldest first, a page at a time."""


class AiringsQuery(PageQuery):
    """Airings in start order; the next page is in ``Link: <…>; rel="next"`` (and ``next_cursor``).
    A parameter not named here is refused (400), so that a misspelt filter never lists every airing."""

    province: Province | None = Field(default=None, description="airings on this province's resources")
    resource_id: ResourceRef | None = Field(default=None, description="one commune's (resource's) airings")
    campaign_id: UUID | None = None
    series_id: UUID | None = Field(default=None, description="one series' airings, moved ones too")
    kind: AiringKind | None = None
    language: Language | None = None
    status: AiringStatus | None = None
    from_: DayOrTime | None = Field(default=None, alias="from", description="starts at or after")
    to: DayOrTime | None = Field(default=None, description="starts before")
    offset: int = Field(
        default=0,
        ge=0,
        le=10_000_000,
        strict=True,
        description="deprecated (slow on long lists): skip this many; use cursor instead",
    )
    sort: Literal["starts_at", "-starts_at"] = Field(
        default="starts_at", description="-starts_at: newest first"
    )


class RunSheetQuery(Query):
    date: Day | None = Field(default=None, description="the local day; default: today")


class CampaignCalendarQuery(Query):
    """A feed covers every airing starting in [from, to), completely (at most 5 years); the window is
    named in X-WR-CALDESC and the X-Loa-Feed-Window header."""

    token: Token | None = None
    from_: DayOrTime | None = Field(default=None, alias="from", description="default: 30 days back")
    to: DayOrTime | None = Field(default=None, description="default: 365 days ahead")


class ResourceCalendarQuery(CampaignCalendarQuery):
    pass


class ResourcesQuery(PageQuery):
    province: Province | None = None
    type: ResourceType | None = None


class CampaignsQuery(PageQuery):
    province: Province | None = None


class AiringView(Contract):
    airing_id: UUID
    kind: AiringKind
    resource_id: str
    starts_at: datetime
    ends_at: datetime
    title: str
    topic: str | None = None
    language: str | None = None
    campaign_id: UUID | None = None
    series_id: UUID | None = None
    recurrence_id: datetime | None = Field(default=None, description="local start of the series occurrence")
    priority: Priority
    status: str
    script: str | None = None
    audio_ref: str | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    reason: str | None = None
    operator: str | None = None
    bumped_by: UUID | None = Field(default=None, description="the emergency airing that took its slot")
    bumped_by_title: str | None = None


class AiringPage(Contract):
    items: list[AiringView]
    total: int | None = Field(default=None, description="every matching airing; only with total=true")
    limit: int
    offset: int
    next_cursor: str | None = Field(default=None, description="the next page's cursor; none on the last")


class RunSheet(Contract):
    """What one resource airs on one local day, in order, with the script."""

    resource_id: str
    date: date
    items: list[AiringView]


class FieldProblem(Contract):
    field: str
    reason: str


class ConflictingAiring(Contract):
    airing_id: UUID
    title: str
    starts_at: datetime
    ends_at: datetime


class Problem(Contract):
    """RFC 9457 problem details: ``errors`` names each bad field, ``conflicts`` the airings in the way.

    Other members may follow (RFC 9457 extensions, e.g. each dependency's state on a 503).
    """

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="the path of the request")
    errors: list[FieldProblem] = Field(default_factory=list)
    conflicts: list[ConflictingAiring] = Field(default_factory=list)


# -- reference data ------------------------------------------------------------------


class WindowIn(Window):
    start: TimeOfDay
    end: TimeOfDay


class SlotIn(Slot):
    rule: Rule = Field(min_length=1, examples=["FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"])
    start: TimeOfDay
    duration_minutes: Minutes


class ResourceRequest(ResourceDescription):
    """Register a resource under its id, or change its description (PUT /v1/resources/{resource_id})."""

    name: PlaceName = Field(examples=["Xã Ea Tu"])
    province: Province
    code: Code | None = Field(default=None, description="official code (communes)")
    district: Label | None = None
    languages: list[Language] = Field(default_factory=list, max_length=20, examples=[["Kinh", "Êđê"]])
    windows: list[WindowIn] = Field(default_factory=list, max_length=10)
    station: Label | None = Field(default=None, examples=["Đài PT-TH Đắk Lắk"])
    slots: list[SlotIn] = Field(default_factory=list, max_length=50)
    columns: list[Title] = Field(default_factory=list, max_length=50, examples=[["Câu chuyện chính sách"]])
    platform: Platform | None = None
    url: Url | None = None


class ResourceView(ResourceDescription):
    """A resource with its id (``loudspeaker:<commune>``, ``radio:<station>:<programme>``, ``page:<…>``)."""

    resource_id: str


class ResourceList(Contract):
    items: list[ResourceView]
    total: int | None = Field(default=None, description="only with total=true")
    next_cursor: str | None = Field(default=None, description="the next page's cursor; none on the last")


# -- campaigns ------------------------------------------------------------------------


class CampaignTargetsIn(CampaignTargets):
    airings_per_commune: Count | None = None
    languages: list[Language] = Field(
        default_factory=list, max_length=20, description="each target commune in each of these"
    )
    livestreams: Count | None = None
    airings: Count | None = Field(default=None, description="a total, when not per commune")


class CampaignChange(CampaignDefinition):
    """A campaign's definition as a planner gives it (PUT /v1/campaigns/{campaign_id})."""

    name: Title = Field(examples=["BHYT học sinh, sinh viên"])
    topic: Topic | None = None
    province: Province
    starts_on: Day
    ends_on: Day
    communes: list[ResourceRef] = Field(
        default_factory=list, max_length=20_000, description="resource ids of the target communes"
    )
    targets: CampaignTargetsIn = Field(default_factory=CampaignTargetsIn)


class CampaignRequest(CampaignChange):
    """Plan a campaign (or, with PUT on its URL, change it)."""

    campaign_id: UUID | None = Field(default=None, description="optional; derived from the Idempotency-Key")


class CampaignView(CampaignDefinition):
    campaign_id: UUID


class CampaignList(Contract):
    items: list[CampaignView]
    total: int | None = Field(default=None, description="only with total=true")
    next_cursor: str | None = Field(default=None, description="the next page's cursor; none on the last")


class Tally(Contract):
    """Airings by what became of them, counted by ``contracts.events.status``: ``planned`` is every
    airing neither cancelled nor bumped, ``aired`` includes the partly aired (also in ``partial``), a
    missed airing that a make-up names counts once, in ``made_up`` (not in ``missed`` nor twice in
    ``planned``)."""

    planned: int = 0
    scheduled: int = 0
    aired: int = 0
    partial: int = 0
    missed: int = 0
    made_up: int = 0
    cancelled: int = 0
    bumped: int = 0
    livestreams: int = 0


class CommuneProgress(Tally):
    resource_id: str
    name: str | None = None
    target: int | None = None


class CampaignProgress(Contract):
    campaign_id: UUID
    name: str
    starts_on: date
    ends_on: date
    target_airings: int | None = Field(description="from the targets: per commune x communes, or the total")
    target_livestreams: int | None = None
    totals: Tally
    communes_targeted: int
    communes_reached: int = Field(
        description="target communes with at least one airing aired (fully or partly)"
    )
    by_language: dict[str, Tally]
    by_kind: dict[str, Tally]
    by_commune: list[CommuneProgress]


# -- series --------------------------------------------------------------------------


class SeriesRequest(SeriesDefinition):
    """Plan a recurring airing; its airings are kept scheduled ahead over the horizon.

    EXDATE and RDATE values without an offset are wall-clock times of the series' zone;
    one with an offset names an instant (``06:00+00:00`` is 13:00 in Vietnam).
    """

    rule: Rule = Field(min_length=1, examples=["FREQ=WEEKLY;BYDAY=MO,WE,FR"])
    first_start: LocalDateTime = Field(description="local wall-clock time of the first occurrence (DTSTART)")
    duration_minutes: Minutes
    zone: Zone = "Asia/Ho_Chi_Minh"
    exdates: list[LocalDateTime] = Field(
        default_factory=list, max_length=1000, description="starts left out (EXDATE)"
    )
    rdates: list[LocalDateTime] = Field(
        default_factory=list, max_length=1000, description="starts added (RDATE)"
    )
    title: Title
    topic: Topic | None = None
    language: Language | None = None
    script: Script | None = None
    audio_ref: AudioRef | None = None
    series_id: UUID | None = Field(default=None, description="optional; derived from the Idempotency-Key")
    resource_id: ResourceRef
    kind: AiringKind
    campaign_id: UUID | None = None
    skip_conflicts: bool = False


class RevisionScope(StrEnum):
    this = "this"  # this occurrence alone: its content (title, topic, language, script, audio_ref)
    following = "following"  # this occurrence and the ones after it
    all = "all"  # the whole series, from its next occurrence on (what has passed stays as it was)


class SeriesRevisionRequest(Contract):
    """Change a series. Fields left out keep their current value."""

    scope: RevisionScope
    occurrence: LocalDateTime | None = Field(
        default=None,
        description="RECURRENCE-ID (local start as the series plans it, also of an occurrence moved by hand)"
        " of the occurrence to change (scope=this) or of the first one to change (scope=following)",
    )
    rule: Rule | None = Field(default=None, min_length=1)
    first_start: LocalDateTime | None = None
    duration_minutes: Minutes | None = None
    exdates: list[LocalDateTime] | None = Field(default=None, max_length=1000)
    rdates: list[LocalDateTime] | None = Field(default=None, max_length=1000)
    title: Title | None = None
    topic: Topic | None = None
    language: Language | None = None
    priority: Priority | None = None
    script: Script | None = None
    audio_ref: AudioRef | None = None
    skip_conflicts: bool = False

    @model_validator(mode="after")
    def _occurrence(self) -> SeriesRevisionRequest:
        if self.scope is RevisionScope.following and self.occurrence is None:
            raise ValueError("scope=following names the occurrence it starts from")
        if self.scope is RevisionScope.this and self.occurrence is None:
            raise ValueError("scope=this names the occurrence it changes")
        return self


class SeriesEndRequest(Contract):
    occurrence: LocalDateTime | None = Field(
        default=None, description="first occurrence not to air; default: now"
    )
    reason: Reason | None = None


class SeriesView(Contract):
    series_id: UUID
    resource_id: str
    kind: AiringKind
    campaign_id: UUID | None = None
    definition: SeriesDefinition
    effective_from: datetime = Field(description="local start from which the current definition applies")
    ended_from: datetime | None = None
    through: datetime | None = Field(default=None, description="airings exist up to here (the horizon)")
    skipped: list[SkippedOccurrence] = Field(
        default_factory=list,
        description="occurrences of the last extension that other airings were in the way of",
    )
    airings: int = Field(description="airings of the series that hold or held a slot")


# -- fan-out -------------------------------------------------------------------------


class FanOutRequest(Contract):
    """One bulletin to many communes, each in its loudspeakers' languages, one after another in its window.

    Days come from ``dates`` or from ``rule`` (an RRULE on days) between ``from_date`` and ``to_date``.
    Communes come from ``communes``, or all communes of ``province``, or the campaign's target communes.
    """

    plan_id: UUID | None = Field(default=None, description="optional; derived from the Idempotency-Key")
    title: Title
    topic: Topic | None = None
    script: Script | None = None
    scripts: dict[Language, Script] = Field(
        default_factory=dict, max_length=20, description="a script per language"
    )
    audio_ref: AudioRef | None = None
    campaign_id: UUID | None = None
    priority: Priority = Priority.normal
    communes: list[ResourceRef] | None = Field(default=None, max_length=20_000)
    province: Province | None = None
    dates: list[Day] | None = Field(default=None, max_length=400)
    rule: Rule | None = Field(default=None, examples=["FREQ=WEEKLY;BYDAY=MO,WE,FR"])
    from_date: Day | None = None
    to_date: Day | None = None
    window: int = Field(
        default=1, ge=1, le=10, strict=True, description="which of the commune's usual windows (1 = first)"
    )
    start: TimeOfDay | None = Field(default=None, description="a fixed local start instead of the window")
    duration_minutes: int = Field(gt=0, le=240, strict=True)
    languages: list[Language] | None = Field(
        default=None, max_length=20, description="only these of each commune's languages"
    )
    gap_minutes: int = Field(default=0, ge=0, le=120, strict=True)
    stagger_minutes: int = Field(default=0, ge=0, le=240, strict=True)
    skip_conflicts: bool = False
    dry_run: bool = Field(
        default=False,
        description="plan nothing: answer (200) how many airings it would plan, per commune and language, "
        "and every conflict in the way",
    )

    @model_validator(mode="after")
    def _days(self) -> FanOutRequest:
        if (self.dates is None) == (self.rule is None):
            raise ValueError("give either dates or rule (with from_date and to_date)")
        if self.rule is not None and (self.from_date is None or self.to_date is None):
            raise ValueError("a rule needs from_date and to_date")
        if self.from_date and self.to_date and self.to_date < self.from_date:
            raise ValueError("to_date must not be before from_date")
        return self


class SkippedAiring(Contract):
    resource_id: str
    starts_at: datetime
    language: str | None
    conflicts: list[ConflictingAiring]


class Unplaced(Contract):
    resource_id: str
    reason: str


class FanOutResult(Contract):
    plan_id: UUID
    planned: int = Field(description="airings scheduled by this request")
    communes: int
    skipped: list[SkippedAiring]
    unplaceable: list[Unplaced]
    by_commune: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="dry run: the airings it would plan, per commune and language"
    )
    read_model_caught_up: bool = Field(
        default=True,
        description="false: the plan is stored, lists and run-sheets show all of it within seconds",
    )
