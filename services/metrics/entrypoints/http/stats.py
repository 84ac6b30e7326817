"""``GET /v1/stats``: airings planned / aired / missed and counter totals, grouped and filtered."""

from __future__ import annotations

from aiohttp import web

from contracts.http.metrics import Stats, StatsQuery
from services.common import pages
from services.common.query import invalid, query_as
from services.common.web import principal
from services.metrics.app.queries import GROUPS
from services.metrics.entrypoints.http.reading import filters_of, view_for

routes = web.RouteTableDef()


@routes.get("/v1/stats")
async def get_stats(request: web.Request) -> web.Response:
    """Airings planned / aired / missed and counter totals, grouped and filtered, live or as of then."""
    who = principal(request)
    q = query_as(request, StatsQuery)
    group_by = [g for g in (q.group_by or "").split(",") if g]
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise invalid("group_by", f"unknown {', '.join(unknown)}; one or more of {', '.join(GROUPS)}")
    filters = filters_of(q, who)
    view = await view_for(request)
    rows = await view.statistics(group_by, filters)
    start = _after(rows, pages.decode(q.cursor, len(group_by)), group_by)
    chosen, more = pages.split(rows[start:], q.limit)
    cursor = pages.encode([chosen[-1]["keys"][g] for g in group_by]) if more else None
    body = Stats(
        group_by=group_by,
        as_of_position=view.position,
        rows=chosen,
        total=len(rows) if q.total else None,
        next_cursor=cursor,
    )
    return pages.page(request, body, cursor)


def _after(rows: list[dict], key: list | None, group_by: list[str]) -> int:
    """Where the page after the group ``key`` starts. The groups are aggregated whole for any
    page (the sums need every airing), so the key is found among them, not in an index."""
    if key is None:
        return 0
    for i, row in enumerate(rows):
        if [row["keys"][g] for g in group_by] == key:
            return i + 1
    raise invalid("cursor", "names a group that is no longer there; start again without cursor")
