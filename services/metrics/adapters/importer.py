"""The scheduler's events, copied into the metrics log in each source stream's order.

Deliveries come in any order: the consumer handles up to 50 at once, a failed one
comes back after a delay, a replay sends history again. Each copied event keeps
its source ``stream_version`` and goes to the store's ``append_in_order``, which
appends it at exactly that version, holds it while an earlier one is still on its
way, and recognises a redelivery (or refuses a copy that disagrees with its source:
:class:`~services.eventstore.port.DivergentCopy`).

So the metrics log holds every scheduler stream in the scheduler's order, and a
rebuild gives the answer of that order (docs/adr/0003-stream-order-across-services.md).
"""

from __future__ import annotations

import asyncpg

from contracts.envelope import Envelope
from services.bus.consumer import Handler
from services.eventstore.codec import encode
from services.eventstore.port import EventStore


def importer(store: EventStore) -> Handler:
    """The consumer's handler: keeps each scheduler event in the metrics log, in stream order.

    It runs on the consumer's connection, inside the transaction that also marks the delivery
    handled (``connection=``, which the PostgreSQL store takes).
    """

    async def keep(conn: asyncpg.Connection, envelope: Envelope) -> None:
        event = encode(
            envelope.data, envelope.metadata, event_id=envelope.event_id, occurred_at=envelope.occurred_at
        )
        await store.append_in_order(envelope.stream_id, event, envelope.stream_version, connection=conn)

    return keep
