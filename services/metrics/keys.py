"""Typed keys of what the metrics composition root puts on the aiohttp application."""

from aiohttp import web

from services.common.idempotency import IdempotencyStore
from services.metrics.generations import ReadModel
from services.metrics.ingest import SampleIngestor
from services.metrics.live import LiveFeed

READ_MODEL = web.AppKey("read_model", ReadModel)
INGESTOR = web.AppKey("ingestor", SampleIngestor)
FEED = web.AppKey("live_feed", LiveFeed)
AMQP = web.AppKey("amqp", object)
IMPORTER = web.AppKey("importer", object)
SAMPLE_QUEUE = web.AppKey("sample_queue", object)
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyStore)
