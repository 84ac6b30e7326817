"""The PostgreSQL event store: connection (pool, codecs), append (the one append rule's callers),
read, notify; :class:`PostgresEventStore` puts them together."""

from services.eventstore.postgres.append import EVENT_COLUMNS, MAX_EVENTS_PER_TRANSACTION
from services.eventstore.postgres.connection import create_pool, init_connection
from services.eventstore.postgres.store import PostgresEventStore

__all__ = [
    "EVENT_COLUMNS",
    "MAX_EVENTS_PER_TRANSACTION",
    "PostgresEventStore",
    "create_pool",
    "init_connection",
]
