"""The scheduler's composition root: ``create_app(settings)`` wires pool, store,
read model, relay and HTTP routes; everything that opens IO does so in ``cleanup_ctx``.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import web

from services.bus.connection import connect_robust
from services.bus.relay import OutboxRelay
from services.common.settings import Settings
from services.common.startup import wait_for_postgres
from services.common.web import METRICS, SECRET, HttpMetrics, IdempotencyStore, middlewares, readiness
from services.eventstore.postgres import PostgresEventStore
from services.eventstore.subscription import CatchUpSubscription
from services.scheduler import (
    http,
    http_confirmations,
    http_fanout,
    http_history,
    http_reference,
    http_series,
    openapi,
)
from services.scheduler.horizon import HorizonKeeper
from services.scheduler.keys import (
    AMQP,
    HORIZON_DAYS,
    IDEMPOTENCY,
    KEEPER,
    POOL,
    SCHEDULER,
    SCHEMA,
    STORE,
    SUBSCRIPTION,
)
from services.scheduler.projection import NAME, AiringsProjection, create_tables
from services.scheduler.service import Scheduler

log = structlog.get_logger(__name__)
SCHEMA_NAME = "scheduler"


def create_app(settings: Settings, *, schema: str = SCHEMA_NAME, relay: bool = True) -> web.Application:
    metrics = HttpMetrics("scheduler")
    # 16 MiB: a bulk confirmation of 10,000 as-run records, or an as-run log, is more than the 1 MiB default.
    app = web.Application(middlewares=middlewares("scheduler", metrics), client_max_size=16 * 1024**2)
    app[SECRET] = settings.token_secret
    app[METRICS] = metrics
    app[SCHEMA] = schema
    app[HORIZON_DAYS] = settings.schedule_horizon_days

    async def database(app: web.Application):
        pool = await wait_for_postgres(
            settings.pg_dsn,
            timeout=settings.startup_timeout,
            min_size=settings.pg_pool_min,
            max_size=settings.pg_pool_max,
        )
        store = PostgresEventStore(pool, schema)
        await store.migrate()
        async with pool.acquire() as conn:
            await create_tables(conn, schema)
        idempotency = IdempotencyStore(pool, schema)
        await idempotency.create()
        subscription = CatchUpSubscription(
            store, NAME, AiringsProjection(schema), batch_size=2000, durable=False
        )
        follower = asyncio.create_task(subscription.run(), name="airings-read-model")
        app[POOL], app[STORE], app[SUBSCRIPTION] = pool, store, subscription
        app[SCHEDULER] = Scheduler(store)
        app[IDEMPOTENCY] = idempotency
        keeper = HorizonKeeper(
            app[SCHEDULER],
            pool,
            schema,
            days=settings.schedule_horizon_days,
            interval=settings.horizon_interval,
        )
        app[KEEPER] = keeper
        keeping = asyncio.create_task(keeper.run(), name="series-horizon")
        yield
        keeper.stop()
        subscription.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(keeping, 5)
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(follower, 5)
        await store.close()
        await pool.close()

    async def broker(app: web.Application):
        connection = await connect_robust(settings.amqp_url, timeout=settings.startup_timeout)
        app[AMQP] = connection
        relayer = OutboxRelay(app[STORE], settings.amqp_url, name="scheduler-relay") if relay else None
        task = asyncio.create_task(relayer.run(), name="scheduler-relay") if relayer else None
        yield
        if relayer is not None:
            relayer.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 5)
        await connection.close()

    app.cleanup_ctx.extend([database, broker])
    for module in (http, http_reference, http_series, http_fanout, http_confirmations, http_history):
        app.router.add_routes(module.routes)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics.handler)
    app.router.add_get("/openapi.json", openapi.document)
    app.router.add_get("/docs", openapi.page)
    return app


async def readyz(request: web.Request) -> web.Response:
    return await readiness(request.app[POOL], request.app[AMQP])
