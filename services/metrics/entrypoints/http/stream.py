"""``GET /v1/stream``: live airing updates as Server-Sent Events, resumable with ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from services.common.query import integer, uuid_param
from services.common.web import client_gone, reader
from services.metrics.adapters.live_feed import Listener
from services.metrics.app.queries import Interest
from services.metrics.entrypoints.http.reading import in_reading_scope
from services.metrics.keys import FEED, STATISTICS

routes = web.RouteTableDef()
HEARTBEAT = 15.0
SEND_AT_ONCE = 1000
SEP = EventSourceResponse.DEFAULT_SEPARATOR
SEND_TIMEOUT = EventSourceResponse.DEFAULT_SEND_TIMEOUT


@routes.get("/v1/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: one ``airing`` message per changed airing; its id is the log position.

    Filter with ``campaign_id``, ``resource_id`` or ``airing_id``. A client that
    reconnects with ``Last-Event-ID`` first gets what changed while it was away.
    """
    who = reader(request)
    q = request.query
    interest = Interest(
        campaign_id=uuid_param(q.get("campaign_id"), "campaign_id"),
        resource_id=q.get("resource_id"),
        airing_id=uuid_param(q.get("airing_id"), "airing_id"),
    )
    await in_reading_scope(request, who, interest)
    last = request.headers.get("Last-Event-ID") or q.get("last_event_id")
    after = integer(last, "Last-Event-ID", 0, 0, 2**62) if last else None
    feed = request.app[FEED]
    listener = Listener(interest)
    feed.listeners.add(listener)  # before catching up: nothing falls between the two
    try:
        async with sse_response(request, headers={"X-Accel-Buffering": "no"}) as response:
            response.ping_interval = HEARTBEAT
            with contextlib.suppress(ConnectionResetError):  # the client left: nothing to answer, no error
                await follow(response, feed, listener, after, request.app[STATISTICS].position, request)
            return response
    finally:
        feed.listeners.discard(listener)


async def follow(
    response: EventSourceResponse, feed, listener: Listener, after: int | None, reached: int, request
) -> None:
    """Catch up from ``after`` (or say hello at ``reached``), then pass on live updates until the
    client leaves (noticed within a second). Every id is a position the figures sent under it reflect."""
    interest = listener.interest
    if after is not None:
        missed, sent = await feed.since(interest, after)
        for update in missed:
            await response.send(orjson.dumps(update, default=str).decode(), id=str(sent), event="airing")
    else:
        sent = reached
        await response.send(orjson.dumps({"position": reached}).decode(), id=str(reached), event="hello")
    queue = listener.queue
    while not listener.overflowed and response.is_connected() and not client_gone(request):
        try:
            waiting = [await asyncio.wait_for(queue.get(), 1.0)]
        except TimeoutError:
            continue
        while not queue.empty() and len(waiting) < SEND_AT_ONCE:
            waiting.append(queue.get_nowait())
        # Everything waiting in one write: one batch of the read model is many messages. What the
        # catch-up covered (a position it reached) is not sent again.
        payload = "".join(airing_message(update, position) for position, update in waiting if position > sent)
        if payload:
            try:
                async with asyncio.timeout(SEND_TIMEOUT):  # a stalled client is let go
                    await response.write(payload.encode())
            except ConnectionResetError:
                response.stop_streaming()
                raise
            except TimeoutError:
                response.stop_streaming()
                return


def airing_message(update: dict, position: int) -> str:
    """An SSE message as ``EventSourceResponse.send`` writes it (the JSON holds no line breaks)."""
    data = orjson.dumps(update, default=str).decode()
    return f"id: {position}{SEP}event: airing{SEP}data: {data}{SEP}{SEP}"
