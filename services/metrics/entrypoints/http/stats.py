"""The metrics HTTP API (/v1): samples in, statistics out, live updates as Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import date
from pathlib import Path

import orjson
from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from contracts.http.metrics import (
    AiringMetrics,
    AsOfQuery,
    FiltersQuery,
    LivestreamsQuery,
    SampleBatch,
    SampleBatchResult,
    SampleIn,
    Stats,
    StatsQuery,
)
from services.common import pages
from services.common.localtime import to_local
from services.common.query import day_or_time, instant, integer, invalid, query_as, uuid_param
from services.common.web import (
    Problem,
    body_as,
    client_gone,
    in_scope,
    json,
    principal,
    reader,
    request_metadata,
    require,
)
from services.metrics.adapters.live_feed import Interest, Listener
from services.metrics.adapters.report_formats import to_csv, to_xlsx
from services.metrics.adapters.reports import monthly_report
from services.metrics.adapters.statistics import GROUPS, Filters, airing_metrics, statistics
from services.metrics.keys import FEED, IDEMPOTENCY, INGESTOR, READ_MODEL

routes = web.RouteTableDef()
HEARTBEAT = 15.0
SEND_AT_ONCE = 1000
SEP = EventSourceResponse.DEFAULT_SEPARATOR
SEND_TIMEOUT = EventSourceResponse.DEFAULT_SEND_TIMEOUT


def may_collect(p) -> bool:
    return p.may_collect_somewhere


async def in_collecting_scope(request: web.Request, who, items: list) -> None:
    """A collector posts for its pages or its province only, a planner for its province: 403
    naming the first airing outside (airings nobody knows are refused item by item later)."""
    if who.role == "collector" and not who.resources and who.province is None:
        return  # a national collector
    if who.role == "planner" and who.province is None:
        return
    ids = set()
    for item in items:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            ids.add(uuid.UUID(str(item.get("airing_id"))))
    if not ids:
        return
    schema = request.app[READ_MODEL].schema
    async with request.app[READ_MODEL].store.pool.acquire() as conn:
        rows = await conn.fetch(
            f"select a.airing_id, a.resource_id, r.province from {schema}.airings a left join "
            f"{schema}.resources r on r.resource_id = a.resource_id where a.airing_id = any($1::uuid[])",
            list(ids),
        )
    for row in rows:
        if not who.may_collect(row["resource_id"], row["province"]):
            raise Problem(
                403, "Forbidden", f"{who.role} {who.sub!r} may not post samples of {row['resource_id']}"
            )


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json({"status": "ok"})


@routes.post("/v1/samples")
async def post_samples(request: web.Request) -> web.Response:
    """A batch of samples: each item checked on its own; the valid ones stored in one transaction."""
    who = require(request, may_collect, "post samples")

    async def handle() -> web.Response:
        body = await body_as(request, SampleBatch)
        items = [i.model_dump() if isinstance(i, SampleIn) else i for i in body.items]
        await in_collecting_scope(request, who, items)
        accepted, rejected, position = await request.app[INGESTOR].ingest(
            items, request_metadata(request, who.sub)
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
        if rejected and not accepted:
            raise Problem(
                422,
                "No sample stored",
                f"all {len(rejected)} items were refused",
                errors=[{"field": f"items.{r.index}.{r.field}", "reason": r.reason} for r in rejected],
                extra={"accepted": 0, "rejected": result.model_dump(mode="json")["rejected"], "position": 0},
            )
        return json(result)

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


async def _schema_for(request: web.Request) -> tuple[str, int]:
    """The generation to read: the live one, or one built as of ``?as_of=`` (a position or a time)."""
    read_model = request.app[READ_MODEL]
    as_of = query_as(request, AsOfQuery).as_of
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


def _filters(q: FiltersQuery, who) -> Filters:
    return Filters(
        campaign_id=q.campaign_id,
        resource_id=q.resource_id,
        kind=q.kind.value if q.kind else None,
        language=q.language,
        province=in_scope(who, q.province),
        starts_from=instant(q.from_, "from") if q.from_ else None,
        starts_before=instant(q.to, "to") if q.to else None,
    )


@routes.get("/v1/stats")
async def get_stats(request: web.Request) -> web.Response:
    """Airings planned / aired / missed and counter totals, grouped and filtered, live or as of then."""
    who = principal(request)
    q = query_as(request, StatsQuery)
    group_by = [g for g in (q.group_by or "").split(",") if g]
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise invalid("group_by", f"unknown {', '.join(unknown)}; one or more of {', '.join(GROUPS)}")
    filters = _filters(q, who)
    schema, position = await _schema_for(request)
    async with request.app[READ_MODEL].store.pool.acquire() as conn:
        rows = await statistics(conn, schema, group_by, filters)
    start = _after(rows, pages.decode(q.cursor, len(group_by)), group_by)
    chosen, more = pages.split(rows[start:], q.limit)
    cursor = pages.encode([chosen[-1]["keys"][g] for g in group_by]) if more else None
    body = Stats(
        group_by=group_by,
        as_of_position=position,
        rows=chosen,
        total=len(rows) if q.total else None,
        next_cursor=cursor,
    )
    return pages.page(request, body, cursor)


def _after(rows: list[dict], key: list | None, group_by: list[str]) -> int:
    """Where the page after the group ``key`` starts. The groups are aggregated whole for any
    page (the sums need every airing), so the key is found among them, not in an index."""
    if key is None:
        return 0
    for i, row in enumerate(rows):
        if [row["keys"][g] for g in group_by] == key:
            return i + 1
    raise invalid("cursor", "names a group that is no longer there; start again without cursor")


@routes.get("/v1/airings/{airing_id}/metrics")
async def get_airing_metrics(request: web.Request) -> web.Response:
    who = principal(request)
    airing_id = uuid_param(request.match_info["airing_id"], "airing_id")
    await in_reading_scope(request, who, Interest(airing_id=airing_id))
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


async def in_reading_scope(request: web.Request, who, interest: Interest) -> None:
    """A reader scoped to a province follows one of its resources, campaigns or airings (the
    stream's messages carry no province to filter on): 403 for anything wider."""
    if who.province is None or who.role != "viewer":
        return
    schema = request.app[READ_MODEL].schema
    async with request.app[READ_MODEL].store.pool.acquire() as conn:
        if interest.airing_id is not None:
            province = await conn.fetchval(
                f"select r.province from {schema}.airings a join {schema}.resources r "
                "on r.resource_id = a.resource_id where a.airing_id = $1",
                interest.airing_id,
            )
        elif interest.resource_id is not None:
            province = await conn.fetchval(
                f"select province from {schema}.resources where resource_id = $1", interest.resource_id
            )
        elif interest.campaign_id is not None:
            province = await conn.fetchval(
                f"select province from {schema}.campaigns where campaign_id = $1", interest.campaign_id
            )
        else:
            province = None
    if province != who.province:
        raise Problem(403, "Forbidden", f"{who.sub!r} follows {who.province} only: name one of its "
                      "resources, campaigns or airings")  # fmt: skip


def airing_message(update: dict, position: int) -> str:
    """An SSE message as ``EventSourceResponse.send`` writes it (the JSON holds no line breaks)."""
    data = orjson.dumps(update, default=str).decode()
    return f"id: {position}{SEP}event: airing{SEP}data: {data}{SEP}{SEP}"


@routes.post("/v1/admin/rebuild")
async def rebuild(request: web.Request) -> web.Response:
    """Rebuild every statistic from the log into fresh tables, then serve them (national planners)."""
    who = require(request, lambda p: p.role == "planner" and not p.province, "rebuild the statistics")

    async def handle() -> web.Response:
        return json(await request.app[READ_MODEL].rebuild())

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.get("/v1/reports/monthly")
async def monthly(request: web.Request) -> web.Response:
    """The month's report for ``province`` or ``campaign_id`` (``month=YYYY-MM``), as JSON, CSV or XLSX."""
    who = principal(request)
    q = request.query
    try:
        month = date.fromisoformat(f"{q.get('month', '')}-01")
    except ValueError:
        raise invalid("month", "YYYY-MM") from None
    province, campaign_id = in_scope(who, q.get("province")), uuid_param(q.get("campaign_id"), "campaign_id")
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
    who = principal(request)
    q = query_as(request, LivestreamsQuery)
    filters = _filters(q, who)
    limit = q.limit
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
# A browser that opens the dashboard without its link is asked for the token rather than shown JSON.
ASK_FOR_TOKEN = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Loa — bảng điều khiển</title></head>
<body style="font-family:system-ui,sans-serif;margin:2rem"><h1>Bảng điều khiển Loa</h1>
<p>Cần mã truy cập (mã liên kết của bảng điều khiển).</p>
<form method="get"><input name="token" size="40" required placeholder="mã truy cập">
<button>Mở</button></form></body></html>""".encode()


def _browser(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    """The live dashboard (Vietnamese, phone-friendly); open it with ``?token=<dashboard link token>``."""
    if "token" not in request.query and "Authorization" not in request.headers and _browser(request):
        return web.Response(status=401, body=ASK_FOR_TOKEN, content_type="text/html", charset="utf-8")
    reader(request)
    return web.Response(body=DASHBOARD.read_bytes(), content_type="text/html", charset="utf-8")
