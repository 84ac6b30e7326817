"""Typed keys of what the metrics composition root puts on the aiohttp application."""

from aiohttp import web

from services.common.web import IdempotencyStore
from services.metrics.adapters.generations import ReadModel
from services.metrics.adapters.live_feed import LiveFeed
from services.metrics.app.handlers import SampleIngestor

READ_MODEL = web.AppKey("read_model", ReadModel)
INGESTOR = web.AppKey("ingestor", SampleIngestor)
FEED = web.AppKey("live_feed", LiveFeed)
AMQP = web.AppKey("amqp", object)
IMPORTER = web.AppKey("importer", object)
SAMPLE_QUEUE = web.AppKey("sample_queue", object)
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyStore)
