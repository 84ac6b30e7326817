"""Typed keys of what the metrics composition root puts on the aiohttp application."""

from aiohttp import web

from services.common.idempotency import IdempotencyStore
from services.metrics.adapters.bus_publisher import StatisticsPublisher
from services.metrics.adapters.generations import StatisticsGenerations
from services.metrics.adapters.live_feed import LiveFeed
from services.metrics.app.queries import StatisticsQueries
from services.metrics.entrypoints.workers.sample_consumer import RecordSamples

READ_MODEL = web.AppKey("read_model", StatisticsGenerations)
"""The statistics' generations (rebuilds, the live subscription)."""
STATISTICS = web.AppKey("statistics", StatisticsQueries)
"""The read-model port: every question HTTP asks of the statistics."""
RECORD_SAMPLES = web.AppKey("record_samples", RecordSamples)
FEED = web.AppKey("live_feed", LiveFeed)
PUBLISHER = web.AppKey("publisher", StatisticsPublisher)
AMQP = web.AppKey("amqp", object)
IMPORTER = web.AppKey("importer", object)
SAMPLE_CONSUMER = web.AppKey("sample_consumer", object)
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyStore)
