"""``GET /v1/livestreams``: livestreams newest first, with their latest counters."""

from __future__ import annotations

from aiohttp import web

from contracts.http.metrics import LivestreamsQuery
from services.common.query import query_as
from services.common.web import json, principal
from services.metrics.entrypoints.http.reading import filters_of, view_for

routes = web.RouteTableDef()


@routes.get("/v1/livestreams")
async def livestreams(request: web.Request) -> web.Response:
    """Livestreams newest first, with their latest counters (filters as for /v1/stats)."""
    who = principal(request)
    q = query_as(request, LivestreamsQuery)
    view = await view_for(request)
    return json({"items": await view.livestreams(filters_of(q, who), q.limit)})
