"""Typed keys of what the composition root puts on the aiohttp application."""

import asyncpg
from aiohttp import web

from services.common.idempotency import IdempotencyStore
from services.eventstore.postgres import PostgresEventStore
from services.eventstore.subscription import CatchUpSubscription
from services.scheduler.app.recorder import Scheduler

POOL = web.AppKey("pool", asyncpg.Pool)
SCHEMA = web.AppKey("schema", str)
STORE = web.AppKey("store", PostgresEventStore)
SCHEDULER = web.AppKey("scheduler", Scheduler)
SUBSCRIPTION = web.AppKey("subscription", CatchUpSubscription)
IDEMPOTENCY = web.AppKey("idempotency", IdempotencyStore)
AMQP = web.AppKey("amqp", object)
HORIZON_DAYS = web.AppKey("schedule_horizon_days", int)
KEEPER = web.AppKey("horizon_keeper", object)
