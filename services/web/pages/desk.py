"""The manager's view: the metrics service's live dashboard, reached from the desk with a province and
month picker by name, served on the desk's own address.

The dashboard page calls ``/v1/stats``, ``/v1/livestreams``, ``/v1/airings/{id}/metrics`` and
``/v1/stream`` relative to where it is served; here they are passed through to the metrics API with
the session's token, so no token travels in a URL or sits in the page's storage.
"""

from __future__ import annotations

from datetime import datetime

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from contracts.localtime import VIETNAM
from services.common.provinces import BY_ID
from services.web.client import ApiDown
from services.web.pages.common import api, signed_in

routes = web.RouteTableDef()
PASSED = ("month", "province", "airing_id", "from", "to", "group_by", "kind", "campaign_id", "limit",
          "resource_id", "language", "as_of")  # fmt: skip


@routes.get("/desk/dashboard")
async def picker(request: web.Request) -> web.Response:
    session = signed_in(request)
    month = request.query.get("month") or datetime.now(VIETNAM).strftime("%Y-%m")
    return aiohttp_jinja2.render_template(
        "dashboard.html",
        request,
        {"provinces": sorted(BY_ID.items(), key=lambda kv: kv[1]), "month": month,
         "province": request.query.get("province") or session.province or "dak-lak"},
    )  # fmt: skip


def _params(request: web.Request) -> dict[str, str]:
    return {k: v for k, v in request.query.items() if k in PASSED}


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    session = signed_in(request)
    answer = await api(request).metrics_get(session.token, "/dashboard", {})
    response = web.Response(body=answer.body, content_type="text/html", charset="utf-8")
    return response


@routes.get("/v1/stats")
@routes.get("/v1/livestreams")
@routes.get("/v1/airings/{airing_id}/metrics")
async def metrics_read(request: web.Request) -> web.Response:
    session = signed_in(request)
    answer = await api(request).metrics_get(session.token, request.path, _params(request))
    return web.json_response(answer.body)


@routes.get("/v1/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    session = signed_in(request)
    client = api(request)
    try:
        upstream = await client.metrics_stream(
            session.token, _params(request), request.headers.get("Last-Event-ID")
        )
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise ApiDown(str(exc)) from None
    try:
        if upstream.status != 200:
            return web.Response(status=upstream.status, body=await upstream.read(),
                                content_type=upstream.content_type)  # fmt: skip
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        return response
    finally:
        upstream.release()
