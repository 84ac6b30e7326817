"""``POST /v1/samples``: a batch of counter readings, each item checked on its own."""

from __future__ import annotations

import contextlib

from aiohttp import web

from contracts.http.metrics import SampleBatch, SampleBatchResult, SampleIn
from services.common.web import Problem, body_as, json, request_metadata, require
from services.metrics.app.handlers import airing_ids_in
from services.metrics.keys import IDEMPOTENCY, RECORD_SAMPLES, STATISTICS

routes = web.RouteTableDef()


def may_collect(p) -> bool:
    return p.may_collect_somewhere


async def in_collecting_scope(request: web.Request, who, items: list) -> None:
    """A collector posts for its pages or its province only, a planner for its province: 403
    naming the first airing outside (airings nobody knows are refused item by item later)."""
    if who.role == "collector" and not who.resources and who.province is None:
        return  # a national collector
    if who.role == "planner" and who.province is None:
        return
    for place in await request.app[STATISTICS].places(airing_ids_in(items)):
        if not who.may_collect(place.resource_id, place.province):
            raise Problem(
                403, "Forbidden", f"{who.role} {who.sub!r} may not post samples of {place.resource_id}"
            )


@routes.post("/v1/samples")
async def post_samples(request: web.Request) -> web.Response:
    """A batch of samples: each item checked on its own; the valid ones stored in one transaction."""
    who = require(request, may_collect, "post samples")

    async def handle() -> web.Response:
        body = await body_as(request, SampleBatch)
        items = [i.model_dump() if isinstance(i, SampleIn) else i for i in body.items]
        await in_collecting_scope(request, who, items)
        recorded = await request.app[RECORD_SAMPLES](items, request_metadata(request, who.sub))
        if recorded.position:
            with contextlib.suppress(TimeoutError):
                await request.app[STATISTICS].wait_until(recorded.position, timeout=5)
        result = SampleBatchResult(
            accepted=recorded.accepted,
            rejected=[{"index": r.index, "field": r.field, "reason": r.reason} for r in recorded.rejected],
            position=recorded.position,
        )
        # 200 when something was stored or nothing needed storing, 422 when every item was refused.
        if recorded.rejected and not recorded.accepted:
            raise Problem(
                422,
                "No sample stored",
                f"all {len(recorded.rejected)} items were refused",
                errors=[
                    {"field": f"items.{r.index}.{r.field}", "reason": r.reason} for r in recorded.rejected
                ],
                extra={"accepted": 0, "rejected": result.model_dump(mode="json")["rejected"], "position": 0},
            )
        return json(result)

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)
