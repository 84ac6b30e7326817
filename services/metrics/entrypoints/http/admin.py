"""Operations: ``/healthz`` and ``POST /v1/admin/rebuild`` (every statistic rebuilt from the log)."""

from __future__ import annotations

from aiohttp import web

from services.common.web import json, require
from services.metrics.keys import IDEMPOTENCY, READ_MODEL

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json({"status": "ok"})


@routes.post("/v1/admin/rebuild")
async def rebuild(request: web.Request) -> web.Response:
    """Rebuild every statistic from the log into fresh tables, then serve them (national planners)."""
    who = require(request, lambda p: p.role == "planner" and not p.province, "rebuild the statistics")

    async def handle() -> web.Response:
        return json(await request.app[READ_MODEL].rebuild())

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)
