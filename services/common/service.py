"""What the scheduler's and the metrics service's composition roots build alike: the application
with its middlewares, token keys, HTTP metrics and supervisor; the database pool; the routes an
operator reads (``/readyz``, ``/metrics``, ``/openapi.json``, ``/docs``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web

from services.common.auth import Keyring
from services.common.revocations import REVOCATIONS, Revocations
from services.common.settings import Settings
from services.common.startup import wait_for_postgres
from services.common.supervisor import SUPERVISOR, Supervisor
from services.common.web import KEYS, METRICS, SECRET, HttpMetrics, middlewares

MAX_BODY = 16 * 1024**2
"""A bulk confirmation of 10,000 as-run records, or an as-run log, is more than aiohttp's 1 MiB."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def service_app(name: str, settings: Settings) -> tuple[web.Application, HttpMetrics, Supervisor]:
    """The application of service ``name``, with its token keys, revocations, HTTP metrics and
    supervisor stored under their keys; the metrics and the supervisor are returned for wiring."""
    metrics = HttpMetrics(name)
    app = web.Application(middlewares=middlewares(name, metrics), client_max_size=MAX_BODY)
    supervisor = Supervisor()
    app[SECRET] = settings.token_secret
    app[KEYS] = Keyring.from_settings(settings)
    app[REVOCATIONS] = Revocations()
    app[METRICS] = metrics
    app[SUPERVISOR] = supervisor
    return app, metrics, supervisor


async def open_pool(settings: Settings) -> asyncpg.Pool:
    """The service's pool, sized by the settings, once PostgreSQL answers (waiting at most
    ``startup_timeout`` seconds, saying what it waits for)."""
    return await wait_for_postgres(
        settings.pg_dsn,
        timeout=settings.startup_timeout,
        min_size=settings.pg_pool_min,
        max_size=settings.pg_pool_max,
    )


def add_operator_routes(
    app: web.Application, metrics: HttpMetrics, *, readyz: Handler, document: Handler, page: Handler
) -> None:
    """``/readyz``, ``/metrics`` and the API's OpenAPI document and its page."""
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics.handler)
    app.router.add_get("/openapi.json", document)
    app.router.add_get("/docs", page)
