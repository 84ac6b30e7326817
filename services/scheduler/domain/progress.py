"""A campaign's progress against its targets: what counts as planned, aired and missed, targets
× languages, communes reached. Pure: it is given the campaign's airings counted by status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

from contracts.events.reference import CampaignDefinition
from contracts.events.status import (
    AIRED,
    MISSED,
    PARTIAL,
    PENDING,
    PLANNED,
    AiringStatus,
    counts_as_missed,
    counts_as_planned,
)
from contracts.http.scheduler import CampaignProgress, CommuneProgress, Tally


@dataclass(frozen=True)
class Count:
    """``n`` airings of the campaign on one resource, in one language, of one kind, in one status."""

    resource_id: str
    language: str | None
    kind: str
    status: str
    n: int
    made_up: bool = False  # missed, and a make-up airing names it


def tally(counts: Iterable[Count]) -> Tally:
    """The counts by the status sets of ``contracts.events.status`` (partial is aired, and shown)."""
    by: dict[str, int] = defaultdict(int)  # by status
    planned = missed = made_up = livestreams = 0
    for c in counts:
        by[c.status] += c.n
        livestreams += c.n if c.kind == "livestream" and c.status in PLANNED else 0
        planned += c.n if counts_as_planned(c.status, made_up=c.made_up) else 0
        missed += c.n if counts_as_missed(c.status, made_up=c.made_up) else 0
        made_up += c.n if c.made_up and c.status in MISSED else 0

    def among(statuses: frozenset[AiringStatus]) -> int:
        return sum(by[s] for s in statuses)

    return Tally(
        planned=planned,
        scheduled=among(PENDING),
        aired=among(AIRED),
        partial=among(PARTIAL),
        missed=missed,
        made_up=made_up,
        cancelled=by[AiringStatus.cancelled],
        bumped=by[AiringStatus.bumped],
        livestreams=livestreams,
    )


def target_per_commune(definition: CampaignDefinition) -> int | None:
    """Airings per commune in each of the campaign's languages (or in one, when none is named)."""
    targets = definition.targets
    if targets.airings_per_commune is None:
        return None
    return targets.airings_per_commune * max(1, len(targets.languages))


def progress(
    campaign_id: UUID, definition: CampaignDefinition, counts: list[Count], names: Mapping[str, str]
) -> CampaignProgress:
    """Planned / aired / missed against the targets, in total, per language, per kind and per commune;
    ``names``: the resources' names by id."""
    by_language: dict[str, list[Count]] = defaultdict(list)
    by_kind: dict[str, list[Count]] = defaultdict(list)
    by_commune: dict[str, list[Count]] = defaultdict(list)
    for c in counts:
        by_language[c.language or "—"].append(c)
        by_kind[c.kind].append(c)
        by_commune[c.resource_id].append(c)
    per_commune = target_per_commune(definition)
    target = per_commune * len(definition.communes) if per_commune is not None else definition.targets.airings
    communes = list(dict.fromkeys([*definition.communes, *sorted(by_commune)]))
    tallies = {c: tally(by_commune.get(c, ())) for c in communes}
    return CampaignProgress(
        campaign_id=campaign_id,
        name=definition.name,
        starts_on=definition.starts_on,
        ends_on=definition.ends_on,
        target_airings=target,
        target_livestreams=definition.targets.livestreams,
        totals=tally(counts),
        communes_targeted=len(definition.communes),
        communes_reached=sum(1 for c in definition.communes if tallies[c].aired),
        by_language={k: tally(v) for k, v in sorted(by_language.items())},
        by_kind={k: tally(v) for k, v in sorted(by_kind.items())},
        by_commune=[
            CommuneProgress(
                resource_id=c,
                name=names.get(c),
                target=per_commune if c in definition.communes else None,
                **tallies[c].model_dump(),
            )
            for c in communes
        ],
    )
