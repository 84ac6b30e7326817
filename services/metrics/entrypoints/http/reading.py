"""What every reading endpoint does alike: which statistics to read (``?as_of=``), the filters, and
whether a reader scoped to a province may read what it names."""

from __future__ import annotations

from aiohttp import web

from contracts.http.metrics import AsOfQuery, FiltersQuery
from services.common.query import day_or_time, instant, invalid, query_as
from services.common.web import Problem, in_scope
from services.metrics.app.queries import Filters, Interest, StatisticsView
from services.metrics.keys import STATISTICS


async def view_for(request: web.Request) -> StatisticsView:
    """The statistics to read: the serving ones, or as of ``?as_of=`` (a log position or a time)."""
    statistics = request.app[STATISTICS]
    as_of = query_as(request, AsOfQuery).as_of
    if not as_of:
        return await statistics.view()
    if as_of.isdigit():
        position = int(as_of)
    else:
        position = await statistics.position_at(day_or_time(as_of, "as_of"))
    if position > statistics.position:
        raise invalid("as_of", "is ahead of what the statistics have seen")
    return await statistics.view(position)


def filters_of(q: FiltersQuery, who) -> Filters:
    return Filters(
        campaign_id=q.campaign_id,
        resource_id=q.resource_id,
        kind=q.kind.value if q.kind else None,
        language=q.language,
        province=in_scope(who, q.province),
        starts_from=instant(q.from_, "from") if q.from_ else None,
        starts_before=instant(q.to, "to") if q.to else None,
    )


async def in_reading_scope(request: web.Request, who, interest: Interest) -> None:
    """A reader scoped to a province follows one of its resources, campaigns or airings (the
    stream's messages carry no province to filter on): 403 for anything wider."""
    if who.province is None or who.role != "viewer":
        return
    if await request.app[STATISTICS].province_of(interest) != who.province:
        raise Problem(403, "Forbidden", f"{who.sub!r} follows {who.province} only: name one of its "
                      "resources, campaigns or airings")  # fmt: skip
