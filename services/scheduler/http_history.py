"""``GET /v1/airings/{id}/history``: every event of an airing, read from the event store."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from contracts.http.confirmations import AiringHistory, HistoryEntry
from services.common.localtime import to_local
from services.common.web import json, principal
from services.scheduler.http import existing
from services.scheduler.keys import STORE
from services.scheduler.service import stream_of

routes = web.RouteTableDef()
IDS = ("airing_id", "resource_id")


def entries(events, airing_id: UUID) -> list[HistoryEntry]:
    """The events about ``airing_id`` among a schedule's, oldest first: its own, and the scheduling
    of an airing that makes it up."""
    wanted = str(airing_id)
    out = []
    for e in events:
        if e.data.get("airing_id") != wanted and e.data.get("makeup_of") != wanted:
            continue
        meta = e.metadata or {}
        changes = {k: v for k, v in e.data.items() if k not in IDS and v is not None}
        if e.data.get("airing_id") != wanted:
            changes["made_up_by"] = e.data["airing_id"]
        out.append(
            HistoryEntry(
                position=e.global_position,
                type=e.type,
                recorded_at=to_local(e.recorded_at),
                actor=meta.get("actor"),
                correlation_id=meta.get("correlation_id"),
                changes=changes,
            )
        )
    return out


@routes.get("/v1/airings/{airing_id}/history")
async def history(request: web.Request) -> web.Response:
    """Who changed the airing, when, under which request, and what changed."""
    principal(request)
    row = await existing(request)
    events = await request.app[STORE].read_stream(stream_of(row["resource_id"]))
    return json(
        AiringHistory(
            airing_id=row["airing_id"],
            resource_id=row["resource_id"],
            items=entries(events, row["airing_id"]),
        )
    )
