"""HTTP bodies of the scheduler API (/v1). Times are entered and shown in Asia/Ho_Chi_Minh.

A time without an offset (``2023-08-07T17:30``) is local wall-clock time in
Vietnam; one with an offset is taken as the instant it names. Responses always
show local time with its offset (``2023-08-07T17:30:00+07:00``).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import Contract
from contracts.events.reference import CampaignDefinition, ResourceDescription
from contracts.events.schedule import AiringKind, Outcome, Priority
from contracts.events.series import SeriesDefinition, SkippedOccurrence


class AiringRequest(Contract):
    """Plan one airing on one resource."""

    airing_id: UUID | None = Field(
        default=None, description="optional; derived from the Idempotency-Key when absent"
    )
    kind: AiringKind
    resource_id: str = Field(min_length=1, max_length=120, examples=["loudspeaker:xa-ea-tu"])
    starts_at: datetime = Field(examples=["2023-08-07T17:30"])
    ends_at: datetime | None = None
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    title: str = Field(min_length=1, max_length=300)
    topic: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=40, examples=["Êđê"])
    campaign_id: UUID | None = None
    priority: Priority = Priority.normal
    script: str | None = Field(default=None, max_length=20_000)
    audio_ref: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_end(self) -> AiringRequest:
        if (self.ends_at is None) == (self.duration_minutes is None):
            raise ValueError("give exactly one of ends_at and duration_minutes")
        return self


class RescheduleRequest(Contract):
    starts_at: datetime
    ends_at: datetime | None = None
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_end(self) -> RescheduleRequest:
        if self.ends_at is not None and self.duration_minutes is not None:
            raise ValueError("give at most one of ends_at and duration_minutes")
        return self


class CancelRequest(Contract):
    reason: str | None = Field(default=None, max_length=500)


class ConfirmationRequest(Contract):
    """An operator's as-run record."""

    outcome: Outcome
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    reason: str | None = Field(default=None, max_length=500, examples=["mất điện"])


class LivestreamLiveRequest(Contract):
    url: str | None = Field(default=None, max_length=1000)


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


class AiringPage(Contract):
    items: list[AiringView]
    total: int
    limit: int
    offset: int


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
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)
    conflicts: list[ConflictingAiring] = Field(default_factory=list)


# -- reference data ------------------------------------------------------------------


class ResourceView(ResourceDescription):
    """A resource with its id (``loudspeaker:<commune>``, ``radio:<station>:<programme>``, ``page:<…>``)."""

    resource_id: str


class ResourceList(Contract):
    items: list[ResourceView]


# -- campaigns ------------------------------------------------------------------------


class CampaignRequest(CampaignDefinition):
    """Plan a campaign (or, with PUT on its URL, change it)."""

    campaign_id: UUID | None = Field(default=None, description="optional; derived from the Idempotency-Key")


class CampaignView(CampaignDefinition):
    campaign_id: UUID


class CampaignList(Contract):
    items: list[CampaignView]


class Tally(Contract):
    """Airings by what became of them. ``planned`` counts every airing not cancelled or bumped."""

    planned: int = 0
    scheduled: int = 0
    aired: int = 0
    partial: int = 0
    missed: int = 0
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
    """Plan a recurring airing; its airings are kept scheduled ahead over the horizon."""

    series_id: UUID | None = Field(default=None, description="optional; derived from the Idempotency-Key")
    resource_id: str = Field(min_length=1, max_length=120)
    kind: AiringKind
    campaign_id: UUID | None = None
    skip_conflicts: bool = False


class RevisionScope(StrEnum):
    following = "following"  # this occurrence and the ones after it
    all = "all"  # the whole series, from its next occurrence on (what has passed stays as it was)


class SeriesRevisionRequest(Contract):
    """Change a series. Fields left out keep their current value."""

    scope: RevisionScope
    occurrence: datetime | None = Field(
        default=None, description="local start of the first occurrence to change (scope=following)"
    )
    rule: str | None = Field(default=None, min_length=1, max_length=500)
    first_start: datetime | None = None
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    exdates: list[datetime] | None = None
    rdates: list[datetime] | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    topic: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=40)
    priority: Priority | None = None
    script: str | None = Field(default=None, max_length=20_000)
    audio_ref: str | None = Field(default=None, max_length=500)
    skip_conflicts: bool = False

    @model_validator(mode="after")
    def _occurrence(self) -> SeriesRevisionRequest:
        if self.scope is RevisionScope.following and self.occurrence is None:
            raise ValueError("scope=following names the occurrence it starts from")
        return self


class SeriesEndRequest(Contract):
    occurrence: datetime | None = Field(default=None, description="first occurrence not to air; default: now")
    reason: str | None = Field(default=None, max_length=500)


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
    title: str = Field(min_length=1, max_length=300)
    topic: str | None = Field(default=None, max_length=300)
    script: str | None = Field(default=None, max_length=20_000)
    scripts: dict[str, str] = Field(default_factory=dict, description="a script per language")
    audio_ref: str | None = Field(default=None, max_length=500)
    campaign_id: UUID | None = None
    priority: Priority = Priority.normal
    communes: list[str] | None = Field(default=None, max_length=20_000)
    province: str | None = None
    dates: list[date] | None = Field(default=None, max_length=400)
    rule: str | None = Field(default=None, max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO,WE,FR"])
    from_date: date | None = None
    to_date: date | None = None
    window: int = Field(
        default=1, ge=1, le=10, description="which of the commune's usual windows (1 = first)"
    )
    start: time | None = Field(default=None, description="a fixed local start instead of the window")
    duration_minutes: int = Field(gt=0, le=240)
    languages: list[str] | None = Field(default=None, description="only these of each commune's languages")
    gap_minutes: int = Field(default=0, ge=0, le=120)
    stagger_minutes: int = Field(default=0, ge=0, le=240)
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
