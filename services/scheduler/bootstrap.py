"""The scheduler's composition root: ``create_app(settings)`` wires pool, store,
read model, relay and HTTP routes; everything that opens IO does so in ``cleanup_ctx``.
The read model, the horizon keeper and the relay run under the app's supervisor.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from services.bus.connection import connect_robust
from services.bus.relay import OutboxRelay
from services.bus.topology import CONSUMERS
from services.common.idempotency import IdempotencyStore
from services.common.revocations import watch_revocations
from services.common.service import add_operator_routes, open_pool, service_app
from services.common.settings import Settings
from services.common.supervisor import SUPERVISOR, TaskCollector
from services.common.web import VERIFIED, VerifiedTokens, readiness
from services.eventstore.leadership import CheckpointWait, SingleActive
from services.eventstore.postgres import PostgresEventStore
from services.eventstore.subscription import CatchUpSubscription, Poison
from services.scheduler import openapi
from services.scheduler.adapters.projection import NAME, AiringsProjection, create_tables
from services.scheduler.app.schedules import Schedules
from services.scheduler.app.streams import Records
from services.scheduler.entrypoints.http import (
    airings,
    calendars,
    confirmations,
    fanout,
    grants,
    history,
    reference,
    series,
    tokens,
)
from services.scheduler.entrypoints.workers.horizon import HorizonKeeper
from services.scheduler.keys import (
    AMQP,
    HORIZON_DAYS,
    IDEMPOTENCY,
    KEEPER,
    POOL,
    RECORDS,
    SCHEDULES,
    SCHEMA,
    STORE,
    SUBSCRIPTION,
    WRITTEN,
    Written,
)

log = structlog.get_logger(__name__)
SCHEMA_NAME = "scheduler"


def create_app(settings: Settings, *, schema: str = SCHEMA_NAME, relay: bool = True) -> web.Application:
    app, metrics, supervisor = service_app("scheduler", settings)
    metrics.registry.register(TaskCollector("scheduler", supervisor))
    app[VERIFIED] = VerifiedTokens()
    app[SCHEMA] = schema
    app[HORIZON_DAYS] = settings.schedule_horizon_days
    app[WRITTEN] = Written()

    async def database(app: web.Application):
        pool = await open_pool(settings)
        store = PostgresEventStore(pool, schema)
        await store.migrate()
        async with pool.acquire() as conn:
            await create_tables(conn, schema)
        idempotency = IdempotencyStore(pool, schema)
        await idempotency.create()

        # Replicas share the database: the read model and the horizon keeper run in one process
        # at a time (services/eventstore/leadership.py); every process waits on the read model.
        # The read model halts rather than skips: a run-sheet or a conflict check read from a model
        # that skipped an event would be silently wrong (docs/adr/0004-poison-events.md).
        def read_model() -> CatchUpSubscription:
            return CatchUpSubscription(
                store, NAME, AiringsProjection(schema), batch_size=2000, durable=False, poison=Poison.HALT
            )

        projection = SingleActive(settings.pg_dsn, f"{schema}.{NAME}", read_model)
        supervisor.start(
            NAME,
            projection.run,
            stop=projection.stop,
            probe=lambda: projection.worker.trouble if projection.worker is not None else None,
        )
        subscription = CheckpointWait(projection, pool, schema, NAME)
        app[POOL], app[STORE], app[SUBSCRIPTION] = pool, store, subscription
        app[SCHEDULES], app[RECORDS] = Schedules(store), Records(store)
        app[IDEMPOTENCY] = idempotency

        def horizon_keeper() -> HorizonKeeper:
            days, interval = settings.schedule_horizon_days, settings.horizon_interval
            return HorizonKeeper(app[SCHEDULES], pool, schema, days=days, interval=interval)

        app[KEEPER] = horizon_keeper()
        keeper = SingleActive(settings.pg_dsn, f"{schema}.series-horizon", horizon_keeper)
        supervisor.start("series-horizon", keeper.run, stop=keeper.stop)
        yield
        await supervisor.stop("series-horizon")
        await supervisor.stop(NAME)
        await supervisor.stop_all()
        await store.close()
        await pool.close()

    async def broker(app: web.Application):
        url = settings.amqp_url_for("scheduler")  # its own broker user: the one that may publish
        connection = await connect_robust(url, timeout=settings.startup_timeout)
        app[AMQP] = connection
        # One relay publishes at a time among replicas; the product's declares the consumer queues first.
        consumers = CONSUMERS if schema == SCHEMA_NAME else None

        def outbox_relay() -> OutboxRelay:
            return OutboxRelay(app[STORE], url, name="scheduler-relay", consumers=consumers)

        if relay:
            relayer = SingleActive(settings.pg_dsn, f"{schema}.scheduler-relay", outbox_relay)
            supervisor.start("scheduler-relay", relayer.run, stop=relayer.stop)
        yield
        await supervisor.stop("scheduler-relay")
        await connection.close()

    app.cleanup_ctx.extend([database, watch_revocations(lambda app: app[STORE]), broker])
    routed = (airings, calendars, reference, series, fanout, tokens, grants, confirmations, history)
    for module in routed:
        app.router.add_routes(module.routes)
    add_operator_routes(app, metrics, readyz=readyz, document=openapi.document, page=openapi.page)
    return app


async def readyz(request: web.Request) -> web.Response:
    return await readiness(request.app[POOL], request.app[AMQP], request.app[SUPERVISOR])
