"""The operator's phone page: today's and tomorrow's run-sheet of the operator's resources, one tap to
confirm, and confirmations that survive a lost connection.

The page's script keeps each confirmation on the phone with its Idempotency-Key
until ``POST /op/confirm`` answers; that endpoint forwards it to the API under
the same key, so a confirmation sent twice (a retry after a timeout, a second
tab) is recorded once. The service worker (``/op/sw.js``) keeps the page and
its assets for when there is no connection at all.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta

import aiohttp_jinja2
import orjson
from aiohttp import web
from yarl import URL

from contracts.events.status import PENDING
from contracts.localtime import VIETNAM
from services.web.client import ApiDown, ApiProblem
from services.web.keys import ASSET_VERSIONS
from services.web.pages.common import api, signed_in, writing

routes = web.RouteTableDef()
MISSED_REASONS = ("Mất điện", "Hỏng thiết bị", "Loa hỏng", "Thời tiết xấu", "Người phát vắng mặt")
KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")
LATE_NIGHT_UNTIL = 6  # o'clock: yesterday's run-sheet is shown whole before this hour
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")


async def _sheet(request: web.Request, token: str, resource_id: str, days: list) -> dict:
    client = api(request)
    resource, *sheets = await asyncio.gather(
        client.resource(token, resource_id), *(client.run_sheet(token, resource_id, d) for d in days)
    )
    return {"resource": resource, "days": [(d, s["items"]) for d, s in zip(days, sheets, strict=True)]}


@routes.get("/op")
async def op_redirect(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/op/")


@routes.get("/op/")
async def run_sheets(request: web.Request) -> web.Response:
    session = signed_in(request)
    now = datetime.now(VIETNAM)
    today = now.date()
    # Yesterday too: a bulletin of 23:40 is confirmed after midnight. Until early morning the whole
    # of yesterday is shown (what was just confirmed stays in sight); later only what still waits.
    days = [today - timedelta(days=1), today, today + timedelta(days=1)]
    resources = [r for r in session.resources if r != "*"]
    if session.role != "operator" and "resource_id" in request.query:
        resources = [request.query["resource_id"]]
    sheets = await asyncio.gather(*(_sheet(request, session.token, r, days) for r in resources))
    for sheet in sheets:
        (yesterday, items), *rest = sheet["days"]
        waiting = [a for a in items if now.hour < LATE_NIGHT_UNTIL or a["status"] in PENDING]
        sheet["days"] = [(yesterday, waiting), *rest] if waiting else rest
    client = api(request)
    return aiohttp_jinja2.render_template(
        "operator.html",
        request,
        {
            "sheets": sheets,
            "today": today,
            "reasons": MISSED_REASONS,
            "calendar_urls": {r: client.calendar_url(r) for r in resources},
        },
    )


def _confirmation(raw: dict) -> dict:
    """The API's body from what the page sends; the API checks the meaning, this only the shape."""
    body: dict = {"outcome": raw.get("outcome")}
    for name in ("actual_start", "actual_end"):
        value = raw.get(name)
        if value:
            if not isinstance(value, str) or not LOCAL_TIME.match(value):
                raise web.HTTPUnprocessableEntity(
                    text=orjson.dumps({"title": "Invalid confirmation", "errors": [
                        {"field": name, "reason": "local time YYYY-MM-DDTHH:MM"}]}).decode(),
                    content_type="application/problem+json",
                )  # fmt: skip
            body[name] = value
    reason = raw.get("reason")
    if isinstance(reason, str) and reason.strip():
        body["reason"] = reason.strip()[:500]
    return body


@routes.post("/op/confirm")
async def confirm(request: web.Request) -> web.Response:
    """Forward one confirmation kept on the phone: 200/201 with the airing, the API's 4xx as it is
    (a refusal the phone shows and stops retrying), 503 when the API is down (the phone retries)."""
    session = await writing(request)
    try:
        raw = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(text="body is not JSON") from None
    if not isinstance(raw, dict):
        raise web.HTTPBadRequest(text="body is not a JSON object")
    airing_id, key = raw.get("airing_id"), raw.get("key")
    if not isinstance(airing_id, str) or not re.fullmatch(r"[0-9a-fA-F-]{36}", airing_id):
        raise web.HTTPUnprocessableEntity(text="airing_id: a UUID")
    if not isinstance(key, str) or not KEY.match(key):
        raise web.HTTPUnprocessableEntity(text="key: 8 to 100 letters, digits or -_.:")
    try:
        answer = await api(request).confirm(session.token, airing_id, _confirmation(raw), key)
    except ApiDown:
        return web.json_response({"title": "Loa is not reachable"}, status=503, headers={"Retry-After": "5"})
    except ApiProblem as problem:
        return web.json_response(problem.body, status=problem.status, content_type="application/problem+json")
    return web.json_response({"airing": answer.body, "replayed": answer.replayed}, status=answer.status)


SERVICE_WORKER = """// Loa operator page: keep the page and its assets for when there is no connection.
const CACHE = "loa-op-{version}";
const ASSETS = {assets};
self.addEventListener("install", (e) => {{
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
}});
self.addEventListener("activate", (e) => {{
  e.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((k) => k.startsWith("loa-op-") && k !== CACHE).map((k) => caches.delete(k))
  )).then(() => self.clients.claim()));
}});
self.addEventListener("fetch", (e) => {{
  const req = e.request;
  if (req.method !== "GET") return;  // confirmations are queued by the page, never by the cache
  const url = new URL(req.url);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith("/static/")) {{
    e.respondWith(caches.match(req).then((hit) => hit || fetch(req).then((r) => {{
      if (r.ok) {{ const copy = r.clone(); caches.open(CACHE).then((c) => c.put(req, copy)); }}
      return r;
    }})));
    return;
  }}
  if (url.pathname === "/op/") {{
    // Fresh when online; the last copy when offline or when Loa answers 5xx. A redirect (to sign in)
    // is shown, never kept as the page.
    e.respondWith(fetch(req).then((r) => {{
      if (r.ok && !r.redirected) {{
        const copy = r.clone(); caches.open(CACHE).then((c) => c.put("/op/", copy)); return r;
      }}
      if (r.status >= 500) return caches.match("/op/").then((hit) => hit || r);
      return r;
    }}).catch(() => caches.match("/op/")));
  }}
}});
"""


@routes.get("/op/sw.js")
async def service_worker(request: web.Request) -> web.Response:
    versions = request.app[ASSET_VERSIONS]
    # The page itself too, so that it opens with no connection right after the first visit.
    assets = ["/op/", *(f"/static/{name}?v={versions[name]}" for name in ("op.js", "loa.css"))]
    body = SERVICE_WORKER.format(version="-".join(versions[n] for n in ("op.js", "loa.css")),
                                 assets=orjson.dumps(assets).decode())  # fmt: skip
    return web.Response(
        text=body, content_type="application/javascript", headers={"Cache-Control": "no-cache"}
    )


@routes.post("/op/calendar")
async def add_calendar(request: web.Request) -> web.Response:
    """Hand the phone the resource's calendar feed (webcal://) with a read-only link token for that
    feed alone (calendar apps send no headers, and keep the address in clear)."""
    session = await writing(request)
    resource_id = (await request.post()).get("resource_id")
    if not isinstance(resource_id, str) or resource_id not in session.resources:
        raise web.HTTPForbidden(text="not one of your resources")
    feed = URL(await api(request).calendar_link(session.token, resource_id), encoded=True)
    raise web.HTTPSeeOther(str(feed.with_scheme("webcal")))
