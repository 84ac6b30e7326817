"""The scheduler's events, copied into the metrics log in each source stream's order.

Deliveries come in any order: the consumer handles up to 50 at once, a failed one
comes back after a delay, a replay sends history again. Each copied event keeps
its source ``stream_version`` and is appended at exactly that version
(``expected = version - 1``), under a per-stream lock:

- the next version of its stream: appended, followed by any held events that
  now follow on without a gap;
- a later version (an earlier one is still on its way): held in ``held_events``
  until the gap is filled;
- a version already stored: a redelivery, handled (the same event id) — or a
  copy that disagrees with its source, which fails loudly.

So the metrics log holds every scheduler stream in the scheduler's order, and a
rebuild gives the answer of that order (docs/adr/0003-stream-order-across-services.md).
"""

from __future__ import annotations

import asyncpg
import structlog

from contracts.envelope import Envelope
from services.bus.consumer import Handler
from services.eventstore.codec import encode
from services.eventstore.port import EventStore, NewEvent, StreamAppend

log = structlog.get_logger(__name__)


class DivergentCopy(Exception):
    """The metrics log holds a different event at this stream version than the source sent."""


def importer(store: EventStore) -> Handler:
    """The consumer's handler: keeps each scheduler event in the metrics log, in stream order.

    Its reads and its append run on the consumer's connection, inside the transaction that also
    marks the delivery handled (``connection=``, which the PostgreSQL store takes). The held
    events wait in the store's ``held_events`` table.
    """
    s = store.schema
    # The key reserve (migration 0004) queues "any" appends on: every writer of a stream waits here.
    lock = "select pg_advisory_xact_lock(hashtextextended($1, 0))"
    hold = (
        f"insert into {s}.held_events (stream_id, stream_version, event_id, type, schema_version, "
        "data, metadata, occurred_at) values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing"
    )
    held = (
        f"select stream_version, event_id, type, schema_version, data, metadata, occurred_at "
        f"from {s}.held_events where stream_id = $1 and stream_version > $2 order by stream_version"
    )
    release = f"delete from {s}.held_events where stream_id = $1 and stream_version <= $2"

    async def keep(conn: asyncpg.Connection, envelope: Envelope) -> None:
        stream, version = envelope.stream_id, envelope.stream_version
        event = encode(
            envelope.data, envelope.metadata, event_id=envelope.event_id, occurred_at=envelope.occurred_at
        )
        await conn.execute(lock, stream)
        current = await store.stream_head(stream, connection=conn)
        if version <= current:
            kept = await store.event_id_at(stream, version, connection=conn)
            if kept != envelope.event_id:
                raise DivergentCopy(
                    f"{stream} version {version}: the metrics log holds {kept}, "
                    f"the source sent {envelope.event_id}"
                )
            return  # already copied (a redelivery whose inbox mark is gone): handled
        if version > current + 1:
            await conn.execute(
                hold, stream, version, event.event_id, event.type, event.schema_version,
                event.data, event.metadata, event.occurred_at,
            )  # fmt: skip
            log.info(
                "event held until its stream's gap is filled", stream=stream, version=version, head=current
            )
            return
        events = [event]
        for row in await conn.fetch(held, stream, version):
            if row["stream_version"] != version + len(events):
                break
            events.append(
                NewEvent(
                    row["event_id"], row["type"], row["schema_version"], row["data"], row["metadata"],
                    row["occurred_at"],
                )
            )  # fmt: skip
        # The append is the transaction's first write (docs/adr/0001); the lock above made sure
        # the stream's previous writer committed before this transaction took its id.
        await store.append_batch([StreamAppend(stream, events, current)], connection=conn)
        if len(events) > 1:
            await conn.execute(release, stream, version + len(events) - 1)

    return keep
