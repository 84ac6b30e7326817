"""What every reading endpoint parses alike: which statistics to read (``?as_of=``) and the filters."""

from __future__ import annotations

from aiohttp import web

from contracts.http.metrics import AsOfQuery, FiltersQuery
from services.common.query import day_or_time, instant, invalid, query_as
from services.common.web import in_scope
from services.metrics.app.queries import Filters, StatisticsView
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
