"""The web pages' composition root: ``create_app(settings)`` wires templates, catalogues, the API
client (one aiohttp ClientSession, opened in ``cleanup_ctx``) and the pages.

The service holds no data of its own: every page reads and writes through the
scheduler's and the metrics service's public APIs with the signed-in user's token.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
import structlog
from aiohttp import web

from services.common.settings import Settings
from services.web import csrf, sessions
from services.web.client import ApiDown, ApiProblem, LoaApi
from services.web.i18n import STATUSES, Formats, load_catalogues, pick_language
from services.web.keys import API, ASSET_VERSIONS, CATALOGUES, CSRF_KEY, LANGUAGE, SESSION, SETTINGS
from services.web.pages import (
    calendar,
    campaigns,
    desk,
    fanout,
    grants,
    operator,
    plan,
    reports,
    resources,
    signin,
)

log = structlog.get_logger(__name__)
HERE = Path(__file__).parent
STATIC = HERE / "static"
# Our own scripts and styles only: an injected <script> or onclick= does not run. The calendar button
# hands the phone a webcal: link after its form, hence form-action.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self' webcal:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def asset_versions() -> dict[str, str]:
    """A short content hash per static file, so pages can cache assets forever and still see a new one."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in STATIC.iterdir() if p.is_file()}


@web.middleware
async def pages_middleware(request: web.Request, handler):
    """Session and language on every request; API refusals and outages as pages, never a 500."""
    started = time.perf_counter()
    request[SESSION] = sessions.current(request)
    request[LANGUAGE] = pick_language(request.cookies.get(sessions.LANGUAGE_COOKIE))
    try:
        response = await handler(request)
    except ApiDown as exc:
        log.warning("api down", error=str(exc))
        response = aiohttp_jinja2.render_template("error.html", request, {"status": 503, "problem": None},
                                                  status=503)  # fmt: skip
        response.headers["Retry-After"] = "5"
    except web.HTTPException:
        raise
    except ApiProblem as problem:
        if problem.status == 401:
            response = web.Response(status=303, headers={"Location": "/signin?expired=1"})
            sessions.close_session(response)
        else:
            response = aiohttp_jinja2.render_template(
                "error.html", request, {"status": problem.status, "problem": problem}, status=problem.status
            )
    except Exception:
        # A bug of ours: logged with its traceback, shown without details.
        log.exception("page failed", path=request.path)
        response = aiohttp_jinja2.render_template("error.html", request, {"status": 500, "problem": None},
                                                  status=500)  # fmt: skip
    # Server time, for the bench and the browser's devtools.
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if response.content_type == "text/html":
        if request.path != "/dashboard":  # the metrics service's page, with its inline script, as it is
            response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Cache-Control", "no-cache")
        response.enable_compression()
    return response


def context(request: web.Request) -> dict:
    """What every template gets: the session, gettext, formats, the CSRF token, asset URLs."""
    app = request.app
    language = request[LANGUAGE]
    translations = app[CATALOGUES][language]
    session = request[SESSION]
    versions = app[ASSET_VERSIONS]
    return {
        "session": session,
        "lang": language,
        "_": translations.gettext,
        "ngettext": translations.ngettext,
        "status_text": {code: translations.gettext(text) for code, text in STATUSES.items()},
        "fmt": Formats(language),
        "csrf": csrf.token_for(app[CSRF_KEY], session.token) if session else "",
        "asset": lambda name: f"/static/{name}?v={versions.get(name, '0')}",
        "path": request.path_qs,
    }


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC / name
    if "/" in name or not path.is_file():
        raise web.HTTPNotFound()
    response = web.FileResponse(path)
    # Versioned URLs (?v=<hash>): a phone keeps the file until it changes.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when both APIs answer their own /healthz; 503 naming the one that does not."""
    api = request.app[API]
    checks = {}
    for name, base in (("scheduler", api.scheduler), ("metrics", api.metrics)):
        try:
            async with api.session.get(base + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                checks[name] = "ok" if r.status == 200 else f"down: {r.status}"
        except (TimeoutError, aiohttp.ClientError) as exc:
            checks[name] = f"down: {exc.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    headers = {} if ok else {"Retry-After": "5"}
    return web.json_response({"status": "ready" if ok else "not ready", **checks}, status=200 if ok else 503,
                             headers=headers)  # fmt: skip


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[pages_middleware], client_max_size=2 * 1024**2)
    app[SETTINGS] = settings
    app[CATALOGUES] = load_catalogues()
    app[ASSET_VERSIONS] = asset_versions()
    app[CSRF_KEY] = hashlib.sha256(b"loa-web-csrf|" + settings.token_secret.encode()).hexdigest()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        context_processors=[aiohttp_jinja2.request_processor, _context_processor],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    async def client(app: web.Application):
        timeout = aiohttp.ClientTimeout(total=30, connect=3)
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            app[API] = LoaApi(session, settings.scheduler_url, settings.metrics_url)
            yield

    app.cleanup_ctx.append(client)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/static/{name}", static_file)
    for module in (signin, operator, desk, resources, campaigns, calendar, plan, fanout, reports, grants):
        app.router.add_routes(module.routes)
    return app


async def _context_processor(request: web.Request) -> dict:
    return context(request)
