"""Where a planner may plan: a planner scoped to a province plans only there, one without a
province plans everywhere. (Which resources an operator operates is the token's: services.common.auth.)"""

from __future__ import annotations

from services.scheduler.domain.errors import Forbidden


def check_plans_in(planner: str, planner_province: str | None, province: str) -> None:
    if planner_province and planner_province != province:
        raise Forbidden(f"planner {planner!r} plans in {planner_province}, not in {province}")
