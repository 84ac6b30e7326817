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
from services.bus.topology import CONSUMERS
from services.common.settings import Settings
from services.common.startup import wait_for_postgres
from services.common.web import METRICS, SECRET, HttpMetrics, IdempotencyStore, middlewares, readiness
from services.eventstore.leadership import CheckpointWait, SingleActive
from services.eventstore.postgres import PostgresEventStore
from services.eventstore.subscription import CatchUpSubscription
from services.scheduler import http, http_fanout, http_reference, http_series, openapi
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
    app = web.Application(middlewares=middlewares("scheduler", metrics))
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

        # Replicas share the database: the read model and the horizon keeper run in one process
        # at a time (services/eventstore/leadership.py); every process waits on the read model.
        def read_model() -> CatchUpSubscription:
            return CatchUpSubscription(store, NAME, AiringsProjection(schema), batch_size=2000, durable=False)

        projection = SingleActive(settings.pg_dsn, f"{schema}.{NAME}", read_model)
        follower = asyncio.create_task(projection.run(), name="airings-read-model")
        subscription = CheckpointWait(projection, pool, schema, NAME)
        app[POOL], app[STORE], app[SUBSCRIPTION] = pool, store, subscription
        app[SCHEDULER] = Scheduler(store)
        app[IDEMPOTENCY] = idempotency

        def horizon_keeper() -> HorizonKeeper:
            days, interval = settings.schedule_horizon_days, settings.horizon_interval
            return HorizonKeeper(app[SCHEDULER], pool, schema, days=days, interval=interval)

        app[KEEPER] = horizon_keeper()
        keeper = SingleActive(settings.pg_dsn, f"{schema}.series-horizon", horizon_keeper)
        keeping = asyncio.create_task(keeper.run(), name="series-horizon")
        yield
        keeper.stop()
        projection.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(keeping, 5)
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(follower, 5)
        await store.close()
        await pool.close()

    async def broker(app: web.Application):
        connection = await connect_robust(settings.amqp_url, timeout=settings.startup_timeout)
        app[AMQP] = connection
        # One relay publishes at a time among replicas; the product's declares the consumer queues first.
        consumers = CONSUMERS if schema == SCHEMA_NAME else None

        def outbox_relay() -> OutboxRelay:
            return OutboxRelay(app[STORE], settings.amqp_url, name="scheduler-relay", consumers=consumers)

        relayer = SingleActive(settings.pg_dsn, f"{schema}.scheduler-relay", outbox_relay) if relay else None
        task = asyncio.create_task(relayer.run(), name="scheduler-relay") if relayer else None
        yield
        if relayer is not None:
            relayer.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 5)
        await connection.close()

    app.cleanup_ctx.extend([database, broker])
    for module in (http, http_reference, http_series, http_fanout):
        app.router.add_routes(module.routes)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics.handler)
    app.router.add_get("/openapi.json", openapi.document)
    app.router.add_get("/docs", openapi.page)
    return app


async def readyz(request: web.Request) -> web.Response:
    return await readiness(request.app[POOL], request.app[AMQP])
