"""The metrics composition root: ``create_app(settings)`` wires the metrics store, the importer of
the scheduler's events, the sample consumer, the statistics' generations, the live feed, the bus
publisher and HTTP. The one place that names asyncpg (through ``open_pool``), aio-pika
(through ``connect_robust``) and PostgresEventStore. The read model's subscription, the live feed,
the publisher and the sample consumer run under the app's supervisor.
"""

from __future__ import annotations

import gc
from functools import partial

import structlog
from aiohttp import web

from contracts.events import REGISTRY
from services.bus.connection import connect_robust
from services.bus.consumer import Consumer
from services.bus.topology import CONSUMERS
from services.common.idempotency import IdempotencyStore
from services.common.revocations import watch_revocations
from services.common.service import add_operator_routes, open_pool, service_app
from services.common.settings import Settings
from services.common.supervisor import SUPERVISOR, TaskCollector
from services.common.web import readiness
from services.eventstore.postgres import PostgresEventStore
from services.metrics import openapi
from services.metrics.adapters.bus_publisher import StatisticsPublisher
from services.metrics.adapters.generations import StatisticsGenerations
from services.metrics.adapters.importer import importer
from services.metrics.adapters.live_feed import LiveFeed
from services.metrics.adapters.read_model import PostgresStatistics
from services.metrics.app.handlers import read_model_caught_up, record_samples
from services.metrics.entrypoints.http import ROUTES
from services.metrics.entrypoints.workers.sample_consumer import SampleConsumer
from services.metrics.keys import (
    AMQP,
    FEED,
    IDEMPOTENCY,
    IMPORTER,
    PUBLISHER,
    READ_MODEL,
    RECORD_SAMPLES,
    SAMPLE_CONSUMER,
    STATISTICS,
)

log = structlog.get_logger(__name__)
SCHEMA_NAME = "metrics"
IMPORTED = CONSUMERS["metrics.scheduler-events"]  # the queue the relay declares before publishing


def create_app(settings: Settings, *, schema: str = SCHEMA_NAME) -> web.Application:
    app, metrics, supervisor = service_app("metrics", settings)

    async def database(app: web.Application):
        pool = await open_pool(settings)
        store = PostgresEventStore(pool, schema)
        await store.migrate()
        generations = StatisticsGenerations(store, pool, supervisor=supervisor)
        statistics = PostgresStatistics(generations)
        publisher = StatisticsPublisher()
        feed = LiveFeed(generations, on_updates=publisher.on_updates)
        generations.after_batch = feed.on_batch
        metrics.registry.register(
            TaskCollector("metrics", supervisor, parked=lambda: {"statistics": generations.parked})
        )
        await generations.start()
        feed.start(supervisor)
        publisher.start(supervisor)
        app[READ_MODEL], app[STATISTICS], app[FEED], app[PUBLISHER] = generations, statistics, feed, publisher
        app[RECORD_SAMPLES] = partial(
            record_samples,
            store,
            statistics.known_airings,
            catch_up=partial(read_model_caught_up, store, statistics),
        )
        app[IDEMPOTENCY] = IdempotencyStore(pool, schema)
        await app[IDEMPOTENCY].create()
        yield
        await feed.stop()
        await publisher.stop()
        await generations.stop()
        await supervisor.stop_all()
        await store.close()
        await pool.close()

    async def broker(app: web.Application):
        connection = await connect_robust(settings.amqp_url_for("metrics"), timeout=settings.startup_timeout)
        app[AMQP] = connection
        store = app[READ_MODEL].store
        # Queues are named after the schema, so that test instances never share one.
        prefix = "metrics" if schema == SCHEMA_NAME else schema
        consumer = Consumer(
            f"{prefix}.scheduler-events",
            store.pool,
            store.schema,
            REGISTRY,
            importer(store),
            bindings=IMPORTED,
            on_commit=store.notify_appended,
            prefetch=200,  # a backlog or a replay is copied 200 events to a transaction
            batch_size=200,
        )
        await consumer.start(settings.amqp_url_for("metrics"))
        samples = SampleConsumer(app[RECORD_SAMPLES], queue=f"{prefix}.samples")
        await samples.start(connection, supervisor)
        await app[PUBLISHER].connect(connection)
        app[IMPORTER], app[SAMPLE_CONSUMER] = consumer, samples
        yield
        await samples.stop()
        await consumer.stop()
        await connection.close()

    revocations = watch_revocations(lambda app: app[READ_MODEL].store)
    app.cleanup_ctx.extend([database, revocations, broker])
    app.on_startup.append(freeze_startup_objects)  # after the contexts above have started
    for routes in ROUTES:
        app.router.add_routes(routes)
    add_operator_routes(app, metrics, readyz=readyz, document=openapi.API.document, page=openapi.API.page)
    return app


async def freeze_startup_objects(app: web.Application) -> None:
    """Move what imports and startup created out of the collector's sight: they live as long as
    the process, and a full collection walking them all stalls every request and live update
    for tens of milliseconds."""
    gc.collect()
    gc.freeze()


async def readyz(request: web.Request) -> web.Response:
    return await readiness(request.app[READ_MODEL].store.pool, request.app[AMQP], request.app[SUPERVISOR])
