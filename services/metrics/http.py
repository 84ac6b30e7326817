"""The metrics HTTP API (/v1): samples in, statistics out, live updates as Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date
from pathlib import Path

import orjson
from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from contracts.events.schedule import AiringKind
from contracts.http.metrics import AiringMetrics, SampleBatch, SampleBatchResult, Stats
from services.common.localtime import to_local
from services.common.query import day_or_time, enum_param, integer, invalid, uuid_param
from services.common.web import (
    Problem,
    body_as,
    client_gone,
    json,
    principal,
    reader,
    request_metadata,
    require,
)
from services.metrics.keys import FEED, INGESTOR, READ_MODEL
from services.metrics.live import Interest, Listener
from services.metrics.report import monthly_report
from services.metrics.report_formats import to_csv, to_xlsx
from services.metrics.stats import GROUPS, Filters, airing_metrics, statistics

routes = web.RouteTableDef()
HEARTBEAT = 15.0
SEND_AT_ONCE = 1000
SEP = EventSourceResponse.DEFAULT_SEPARATOR
SEND_TIMEOUT = EventSourceResponse.DEFAULT_SEND_TIMEOUT


def may_collect(p) -> bool:
    return p.role in ("collector", "planner")


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json({"status": "ok"})


@routes.post("/v1/samples")
async def post_samples(request: web.Request) -> web.Response:
    """A batch of samples: each item checked on its own; the valid ones stored in one transaction."""
    who = require(request, may_collect, "post samples")
    body = await body_as(request, SampleBatch)
    accepted, rejected, position = await request.app[INGESTOR].ingest(
        body.items, request_metadata(request, who.sub)
    )
    if position:
        with contextlib.suppress(TimeoutError):
            await request.app[READ_MODEL].wait_until(position, timeout=5)
    result = SampleBatchResult(
        accepted=accepted,
        rejected=[{"index": r.index, "field": r.field, "reason": r.reason} for r in rejected],
        position=position,
    )
    # 200 when something was stored or nothing needed storing, 422 when every item was refused.
    status = 422 if rejected and not accepted else 200
    return json(result, status)


async def _schema_for(request: web.Request) -> tuple[str, int]:
    """The generation to read: the live one, or one built as of ``?as_of=`` (a position or a time)."""
    read_model = request.app[READ_MODEL]
    as_of = request.query.get("as_of")
    if not as_of:
        return read_model.schema, read_model.position
    if as_of.isdigit():
        position = int(as_of)
    else:
        at = day_or_time(as_of, "as_of")
        position = await read_model.position_at(at)
    if position > read_model.position:
        raise invalid("as_of", "is ahead of what the statistics have seen")
    return await read_model.as_of(position), position


def _filters(request: web.Request) -> Filters:
    q = request.query
    return Filters(
        campaign_id=uuid_param(q.get("campaign_id"), "campaign_id"),
        resource_id=q.get("resource_id"),
        kind=enum_param(q.get("kind"), AiringKind, "kind"),
        language=q.get("language"),
        province=q.get("province"),
        starts_from=day_or_time(q.get("from"), "from"),
        starts_before=day_or_time(q.get("to"), "to"),
    )


@routes.get("/v1/stats")
async def get_stats(request: web.Request) -> web.Response:
    """Airings planned / aired / missed and counter totals, grouped and filtered, live or as of then."""
    principal(request)
    group_by = [g for g in request.query.get("group_by", "").split(",") if g]
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise invalid("group_by", f"unknown {', '.join(unknown)}; one or more of {', '.join(GROUPS)}")
    filters = _filters(request)
    schema, position = await _schema_for(request)
    async with request.app[READ_MODEL].store.pool.acquire() as conn:
        rows = await statistics(conn, schema, group_by, filters)
    return json(Stats(group_by=group_by, as_of_position=position, rows=rows))


@routes.get("/v1/airings/{airing_id}/metrics")
async def get_airing_metrics(request: web.Request) -> web.Response:
    principal(request)
    airing_id = uuid_param(request.match_info["airing_id"], "airing_id")
    schema, position = await _schema_for(request)
    store = request.app[READ_MODEL].store
    async with store.pool.acquire() as conn:
        found = await airing_metrics(conn, schema, airing_id, store_schema=store.schema, position=position)
    if found is None:
        raise Problem(404, "Not found", f"no airing {airing_id} in the statistics")
    for points in found["history"].values():
        for point in points:
            point["sampled_at"] = to_local(point["sampled_at"])
    return json(AiringMetrics(**found))


@routes.get("/v1/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: one ``airing`` message per changed airing; its id is the log position.

    Filter with ``campaign_id``, ``resource_id`` or ``airing_id``. A client that
    reconnects with ``Last-Event-ID`` first gets what changed while it was away.
    """
    reader(request)
    q = request.query
    interest = Interest(
        campaign_id=uuid_param(q.get("campaign_id"), "campaign_id"),
        resource_id=q.get("resource_id"),
        airing_id=uuid_param(q.get("airing_id"), "airing_id"),
    )
    last = request.headers.get("Last-Event-ID") or q.get("last_event_id")
    after = integer(last, "Last-Event-ID", 0, 0, 2**62) if last else None
    feed = request.app[FEED]
    listener = Listener(interest)
    feed.listeners.add(listener)  # before catching up: nothing falls between the two
    try:
        async with sse_response(request, headers={"X-Accel-Buffering": "no"}) as response:
            response.ping_interval = HEARTBEAT
            with contextlib.suppress(ConnectionResetError):  # the client left: nothing to answer, no error
                await follow(response, feed, listener, after, request.app[READ_MODEL].position, request)
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


@routes.post("/v1/admin/rebuild")
async def rebuild(request: web.Request) -> web.Response:
    """Rebuild every statistic from the log into fresh tables, then serve them (national planners)."""
    require(request, lambda p: p.role == "planner" and not p.province, "rebuild the statistics")
    return json(await request.app[READ_MODEL].rebuild())


@routes.get("/v1/reports/monthly")
async def monthly(request: web.Request) -> web.Response:
    """The month's report for ``province`` or ``campaign_id`` (``month=YYYY-MM``), as JSON, CSV or XLSX."""
    principal(request)
    q = request.query
    try:
        month = date.fromisoformat(f"{q.get('month', '')}-01")
    except ValueError:
        raise invalid("month", "YYYY-MM") from None
    province, campaign_id = q.get("province"), uuid_param(q.get("campaign_id"), "campaign_id")
    if not province and not campaign_id:
        raise invalid("province", "give a province or a campaign_id")
    form = q.get("format", "json")
    if form not in ("json", "csv", "xlsx"):
        raise invalid("format", "json, csv or xlsx")
    schema, position = await _schema_for(request)
    async with request.app[READ_MODEL].store.pool.acquire() as conn:
        report = await monthly_report(
            conn, schema, month, province=province, campaign_id=campaign_id, position=position
        )
    name = f"bao-cao-{month:%Y-%m}-{province or campaign_id}"
    headers = {"Loa-As-Of-Position": str(position)}
    if form == "json":
        body = orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
        return web.Response(body=body, content_type="application/json", headers=headers)
    if form == "csv":
        body, content_type = to_csv(report), "text/csv"
    else:
        body, content_type = (
            to_xlsx(report),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    headers["Content-Disposition"] = f'attachment; filename="{name}.{form}"'
    return web.Response(body=body, content_type=content_type, headers=headers)


@routes.get("/v1/livestreams")
async def livestreams(request: web.Request) -> web.Response:
    """Livestreams newest first, with their latest counters (filters as for /v1/stats)."""
    principal(request)
    filters = _filters(request)
    limit = integer(request.query.get("limit"), "limit", 20, 1, 500)
    schema, _ = await _schema_for(request)
    where, args = filters.where()
    where = f"{where} and a.kind = 'livestream'" if where else "where a.kind = 'livestream'"
    async with request.app[READ_MODEL].store.pool.acquire() as conn:
        rows = await conn.fetch(
            f"""select a.airing_id, a.title, a.resource_id, a.starts_at, a.status,
                       coalesce((select jsonb_object_agg(f.counter, f.value) from {schema}.figures f
                                 where f.airing_id = a.airing_id), '{{}}') as counters
                from {schema}.airings a left join {schema}.resources r on r.resource_id = a.resource_id
                {where} order by a.starts_at desc nulls last, a.airing_id limit {limit}""",
            *args,
        )
    items = [
        dict(r)
        | {
            "airing_id": str(r["airing_id"]),
            "starts_at": to_local(r["starts_at"]).isoformat() if r["starts_at"] else None,
        }
        for r in rows
    ]
    return json({"items": items})


DASHBOARD = Path(__file__).resolve().parent / "static" / "dashboard.html"


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    """The live dashboard (Vietnamese, phone-friendly); open it with ``?token=<viewer token>``."""
    return web.Response(body=DASHBOARD.read_bytes(), content_type="text/html", charset="utf-8")
