"""Starting a service: waiting for the servers it depends on (saying what it waits for), then
serving HTTP with bounds on slow and half-open clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

from services.common.settings import Settings

log = structlog.get_logger(__name__)

HEADER_TIMEOUT = 15.0
"""Seconds a connection may sit without a complete request (idle, half-open, or trickling its
headers) before the server closes it; bodies have their own deadline (services.common.web)."""

T = TypeVar("T")


async def wait_for(
    what: str,
    connect: Callable[[], Awaitable[T]],
    *,
    timeout: float = 120.0,
    retry_on: tuple[type[BaseException], ...] = (OSError, ConnectionError),
) -> T:
    """Call ``connect`` until it succeeds, logging each failed try with what is awaited.

    A service started before PostgreSQL or RabbitMQ waits for them instead of
    crash-looping; after ``timeout`` seconds it gives up with the last error.
    """
    deadline = time.monotonic() + timeout
    delay = 0.25
    attempt = 0
    while True:
        attempt += 1
        try:
            result = await connect()
        except retry_on as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.error("gave up waiting", waiting_for=what, attempts=attempt, error=repr(exc))
                raise
            log.warning("waiting", waiting_for=what, attempt=attempt, error=str(exc), retry_in=delay)
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)
            continue
        if attempt > 1:
            log.info("connected", to=what, attempts=attempt)
        return result


async def wait_for_postgres(dsn: str, *, timeout: float = 120.0, **pool_kwargs):
    """A connection pool to ``dsn`` (with the event store's codecs), once PostgreSQL answers."""
    import asyncpg

    from services.eventstore.postgres import create_pool

    return await wait_for(
        f"PostgreSQL at {_redact(dsn)}",
        lambda: create_pool(dsn, **pool_kwargs),
        timeout=timeout,
        retry_on=(OSError, asyncpg.CannotConnectNowError, asyncpg.PostgresConnectionError),
    )


def _redact(url: str) -> str:
    """Hide a password in a URL before it reaches a log line."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"


def serve(app, *, host: str, port: int) -> None:
    """Run ``app`` until SIGINT/SIGTERM; idle or half-open connections are closed after
    ``HEADER_TIMEOUT`` (aiohttp's keep-alive timer also runs before a connection's first request)."""
    from aiohttp import web

    web.run_app(
        app,
        host=host,
        port=port,
        print=None,
        keepalive_timeout=HEADER_TIMEOUT,
        shutdown_timeout=10,  # SSE clients hold connections open: do not wait the default minute
    )


def run_service(create_app: Callable[[Settings], Any], port: Callable[[Settings], int]) -> None:
    """``python -m services.<service>``: the settings from the environment (refusing the development
    token key outside development), logging as they say, uvloop, then ``serve`` on the service's port."""
    import uvloop

    from services.common.logging import configure_logging

    settings = Settings()
    settings.check_for_service()
    configure_logging(settings.log_format, settings.log_level)
    uvloop.install()
    serve(create_app(settings), host=settings.http_host, port=port(settings))
