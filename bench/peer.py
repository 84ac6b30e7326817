"""The peer: the ``eventsourcing`` library (PyPI, 9.x) with its PostgreSQL persistence.

Used the way its documentation shows: an Application saving Aggregates, its
notification log read back and mapped to domain events.
"""

from __future__ import annotations

from urllib.parse import urlparse

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Livestream(Aggregate):
    """A livestream whose counters are sampled (one event per aggregate here)."""

    @event("Sampled")
    def __init__(self, title: str, source: str, views: int, reactions: int, shares: int, comments: int):
        self.title = title
        self.source = source
        self.views = views
        self.reactions = reactions
        self.shares = shares
        self.comments = comments


class Outreach(Application):
    pass


def peer_app(dsn: str, schema: str, pool_size: int = 20) -> Outreach:
    url = urlparse(dsn)
    return Outreach(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/"),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "loa",
            "POSTGRES_PASSWORD": url.password or "",
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": "0",
            "CREATE_TABLE": "y",
        }
    )


def new_sample(i: int) -> Livestream:
    return Livestream("Livestream BHXH tự nguyện", "facebook", i, 778, 139, 105)
