"""``GET /v1/airings/{airing_id}/metrics``: an airing's figures and the readings behind them."""

from __future__ import annotations

from aiohttp import web

from contracts.http.metrics import AiringMetrics
from contracts.localtime import to_local
from services.common.query import uuid_param
from services.common.web import Problem, json, principal
from services.metrics.app.queries import Interest
from services.metrics.entrypoints.http.reading import in_reading_scope, view_for

routes = web.RouteTableDef()


@routes.get("/v1/airings/{airing_id}/metrics")
async def get_airing_metrics(request: web.Request) -> web.Response:
    who = principal(request)
    airing_id = uuid_param(request.match_info["airing_id"], "airing_id")
    await in_reading_scope(request, who, Interest(airing_id=airing_id))
    view = await view_for(request)
    found = await view.airing_metrics(airing_id)
    if found is None:
        raise Problem(404, "Not found", f"no airing {airing_id} in the statistics")
    for points in found["history"].values():
        for point in points:
            point["sampled_at"] = to_local(point["sampled_at"])
    return json(AiringMetrics(**found))
