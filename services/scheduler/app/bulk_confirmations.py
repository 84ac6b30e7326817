"""Many as-run records at once (a list of airings, or a paper log's rows): each item is refused
here when its airing is unknown or outside the operator's scope, a log row is matched to its
airing by commune, local time and language, and the rest are decided on their schedules together,
every item with its own result."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.envelope import EventMetadata
from contracts.events.schedule import Outcome
from contracts.http.confirmations import BulkConfirmationResult, ItemResult
from services.common.auth import Principal
from services.scheduler.app.schedules import Schedules
from services.scheduler.domain.as_run import ALREADY, CONFIRMED, REFUSED
from services.scheduler.domain.commands import ConfirmAiring


@dataclass
class Pending:
    """An item on its way to a result: refused here, or decided on its schedule."""

    result: ItemResult
    resource_id: str | None = None
    command: ConfirmAiring | None = None


def refused(result: ItemResult, field: str | None, reason: str) -> Pending:
    return Pending(result.model_copy(update={"status": REFUSED, "field": field, "reason": reason}))


def check(who: Principal, found: Mapping[str, Any] | None, result: ItemResult) -> Pending | None:
    """A refusal when the airing (``found``: its resource and province) is unknown or outside the
    operator's scope; None when it may be confirmed."""
    if found is None:
        return refused(result, "airing_id", "no such airing")
    if not who.may_operate(found["resource_id"], found["province"]):
        return refused(result, "airing_id", f"{who.role} {who.sub!r} may not operate {found['resource_id']}")
    return None


def communes_named(
    who: Principal, names: Sequence[str], communes: Sequence[Mapping[str, Any]]
) -> list[str | None]:
    """The commune each log row names (its name, code or resource id, in any case): among the
    communes the operator may operate first; None where no single commune answers."""
    named: dict[str, list[str]] = defaultdict(list)
    province_of = {c["resource_id"]: c["province"] for c in communes}
    for c in communes:
        for key in {c["resource_id"], c["name"], c["code"]} - {None}:
            named[key.casefold()].append(c["resource_id"])
    chosen = []
    for name in names:
        candidates = named.get(name.casefold(), [])
        mine = [c for c in candidates if who.may_operate(c, province_of[c])] or candidates
        chosen.append(mine[0] if len(mine) == 1 else None)
    return chosen


@dataclass(frozen=True)
class LogEntry:
    """A log row as matched: its number, the commune chosen, the instant it names, what it says."""

    row: int
    commune: str
    resource_id: str | None
    starts_at: datetime
    local: datetime
    language: str | None
    outcome: str
    reason: str | None


def match_log(
    who: Principal, entries: Sequence[LogEntry], found: Sequence[Mapping[str, Any]], now: datetime
) -> list[Pending]:
    """Each log row's airing among ``found`` (the airings starting at the rows' instants on their
    communes): exactly one, in the row's language when it names one; refused otherwise."""
    at: dict[tuple[str, datetime], list] = defaultdict(list)
    for f in found:
        at[(f["resource_id"], f["starts_at"])].append(f)
    out = []
    for e in entries:
        result = ItemResult(row=e.row, status=CONFIRMED)
        if e.resource_id is None:
            out.append(
                refused(
                    result, "commune", f"no single commune named {e.commune!r}; use its code or resource id"
                )
            )
            continue
        airings = [
            a for a in at[(e.resource_id, e.starts_at)] if e.language is None or a["language"] == e.language
        ]
        if len(airings) != 1:
            reason = (
                f"no airing on {e.resource_id} at {e.local:%d/%m/%Y %H:%M}"
                + (f" in {e.language}" if e.language else "")
                if not airings
                else "several airings then: name the language"
            )
            out.append(refused(result, "time", reason))
            continue
        airing = airings[0]
        result = result.model_copy(update={"airing_id": airing["airing_id"]})
        refusal = check(who, airing, result)
        if refusal is not None:
            out.append(refusal)
            continue
        command = ConfirmAiring(
            airing_id=airing["airing_id"], outcome=Outcome(e.outcome), operator=who.sub, confirmed_at=now,
            reason=e.reason,
        )  # fmt: skip
        out.append(Pending(result, e.resource_id, command))
    return out


async def record(
    schedules: Schedules, pending: Sequence[Pending], metadata: EventMetadata
) -> tuple[BulkConfirmationResult, int]:
    """Decide the items that passed the checks, each on its schedule, in one transaction; answer
    every item in order, and the last position written (0: none). The answer comes from the
    decided events, not from the read model, which applies thousands of confirmations a moment later."""
    by_resource: dict[str, list[Pending]] = defaultdict(list)
    position = 0
    for p in pending:
        if p.command is not None:
            by_resource[p.resource_id].append(p)
    if by_resource:
        outcomes, position = await schedules.confirm_many(
            {r: [p.command for p in items] for r, items in by_resource.items()}, metadata
        )
        for resource_id, items in by_resource.items():
            for p, outcome in zip(items, outcomes[resource_id], strict=True):
                p.result = p.result.model_copy(
                    update={"status": outcome.status, "field": outcome.field, "reason": outcome.reason}
                )
    results = [p.result for p in pending]
    count = Counter(r.status for r in results)
    answer = BulkConfirmationResult(
        confirmed=count[CONFIRMED], already_confirmed=count[ALREADY], refused=count[REFUSED], items=results
    )
    return answer, position
