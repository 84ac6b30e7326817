"""Typed keys of what the composition root puts on the aiohttp application."""

import asyncpg
from aiohttp import web

from services.common.idempotency import IdempotencyStore
from services.eventstore.port import EventStore
from services.eventstore.subscription import CatchUpSubscription
from services.scheduler.app.schedules import Schedules
from services.scheduler.app.streams import Records


class Written:
    """The last global position this process wrote: its read-model answers wait for it (read your writes)."""

    def __init__(self) -> None:
        self.position = 0

    def saw(self, position: int) -> None:
        self.position = max(self.position, position)


POOL = web.AppKey("pool", asyncpg.Pool)
SCHEMA = web.AppKey("schema", str)
STORE = web.AppKey("store", EventStore)
SCHEDULES = web.AppKey("schedules", Schedules)
RECORDS = web.AppKey("records", Records)
SUBSCRIPTION = web.AppKey("subscription", CatchUpSubscription)
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyStore)
WRITTEN = web.AppKey("written", Written)
AMQP = web.AppKey("amqp", object)
HORIZON_DAYS = web.AppKey("schedule_horizon_days", int)
KEEPER = web.AppKey("horizon_keeper", object)
