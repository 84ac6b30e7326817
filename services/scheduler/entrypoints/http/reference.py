"""HTTP API for reference data (resources) and campaigns, with campaign progress."""

from __future__ import annotations

import uuid
from datetime import date

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from contracts.events.reference import CampaignDefinition, ResourceDescription
from contracts.http.scheduler import (
    CampaignChange,
    CampaignList,
    CampaignRequest,
    CampaignsQuery,
    CampaignView,
    ResourceList,
    ResourceRequest,
    ResourcesQuery,
    ResourceView,
)
from contracts.http.types import ResourceId
from services.common import pages
from services.common.query import invalid, query_as
from services.common.web import (
    Problem,
    body_as,
    field_errors,
    json,
    new_id,
    principal,
    request_metadata,
    require,
)
from services.scheduler.adapters import catalogue
from services.scheduler.adapters.projection import campaign_counts
from services.scheduler.app import handlers
from services.scheduler.domain.progress import Count, progress
from services.scheduler.domain.reference import commune_errors
from services.scheduler.entrypoints.http.answers import campaign_row, fresh, read_page, refusals, wrote
from services.scheduler.keys import IDEMPOTENCY, POOL, SCHEDULES, SCHEMA, STORE

routes = web.RouteTableDef()
CAMPAIGN_IDS = uuid.UUID("c2a8e3d4-1b5f-4e6a-9c7d-8e9f0a1b2c3d")
RESOURCE_ID = TypeAdapter(ResourceId)


def resource_id_of(request: web.Request) -> str:
    """The id a resource is registered under: bounded, of a documented pattern (422 otherwise)."""
    try:
        return RESOURCE_ID.validate_python(request.match_info["resource_id"])
    except ValidationError as exc:
        raise Problem(422, "Invalid resource id", errors=field_errors(exc, "resource_id")) from None


def resource_view(row) -> ResourceView:
    return ResourceView(resource_id=row["resource_id"], **row["description"])


@routes.put("/v1/resources/{resource_id}")
async def put_resource(request: web.Request) -> web.Response:
    """Register a commune's loudspeakers, a programme or a page, or change its description."""
    who = require(request, lambda p: p.may_plan, "describe resources")
    resource_id = request.match_info["resource_id"]

    async def handle() -> web.Response:
        resource_id_of(request)
        given = await body_as(request, ResourceRequest)
        body = ResourceDescription.model_validate(given.model_dump())
        with refusals():
            recorded, created = await handlers.describe_resource(
                request.app[STORE], who, resource_id, body, request_metadata(request, who.sub)
            )
        wrote(request, recorded)
        request.app[SCHEDULES].forget_description(resource_id)
        answer = ResourceView(resource_id=resource_id, **body.model_dump(mode="json"))
        return json(answer, 201 if created else 200)

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.get("/v1/resources")
async def list_resources(request: web.Request) -> web.Response:
    """Resources in id order, a page at a time (``Link: rel="next"``)."""
    principal(request)
    q = query_as(request, ResourcesQuery)
    after = pages.decode(q.cursor, 1)
    kind = q.type.value if q.type else None
    rows, total, cursor = await read_page(
        request,
        lambda conn, limit: catalogue.resource_page(
            conn,
            request.app[SCHEMA],
            province=q.province,
            type=kind,
            after=str(after[0]) if after else None,
            limit=limit,
            count=q.total,
        ),
        q.limit,
        lambda last: [last["resource_id"]],
    )
    body = ResourceList(items=[resource_view(r) for r in rows], total=total, next_cursor=cursor)
    return pages.page(request, body, cursor)


@routes.get("/v1/resources/{resource_id}")
async def get_resource(request: web.Request) -> web.Response:
    principal(request)
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        row = await catalogue.resource(conn, request.app[SCHEMA], request.match_info["resource_id"])
    if row is None:
        raise Problem(404, "Not found", f"no resource {request.match_info['resource_id']!r}")
    return json(resource_view(row))


# -- campaigns ------------------------------------------------------------------------


async def _save_campaign(request: web.Request, campaign_id: uuid.UUID, definition: CampaignDefinition, who):
    if definition.communes:
        found = await handlers.descriptions_of(request.app[STORE], definition.communes)
        errors = commune_errors(definition.communes, found, definition.province)
        if errors:
            raise Problem(422, "Invalid campaign", errors=errors)
    with refusals():
        recorded, created = await handlers.save_campaign(
            request.app[STORE], who, campaign_id, definition, request_metadata(request, who.sub)
        )
    wrote(request, recorded)
    return created


def campaign_view(row) -> CampaignView:
    return CampaignView(campaign_id=row["campaign_id"], **row["definition"])


@routes.post("/v1/campaigns")
async def create_campaign(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "plan campaigns")

    async def handle() -> web.Response:
        body = await body_as(request, CampaignRequest)
        campaign_id = new_id(request, CAMPAIGN_IDS, who.sub, body.campaign_id)
        definition = CampaignDefinition.model_validate(body.model_dump(exclude={"campaign_id"}))
        created = await _save_campaign(request, campaign_id, definition, who)
        answer = CampaignView(campaign_id=campaign_id, **definition.model_dump(mode="json"))
        return json(answer, 201 if created else 200, {"Location": f"/v1/campaigns/{campaign_id}"})

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.put("/v1/campaigns/{campaign_id}")
async def update_campaign(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "plan campaigns")

    async def handle() -> web.Response:
        row = await campaign_row(request)
        given = await body_as(request, CampaignChange)
        definition = CampaignDefinition.model_validate(given.model_dump())
        await _save_campaign(request, row["campaign_id"], definition, who)
        return json(CampaignView(campaign_id=row["campaign_id"], **definition.model_dump(mode="json")))

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.get("/v1/campaigns")
async def list_campaigns(request: web.Request) -> web.Response:
    """Campaigns newest first, a page at a time (``Link: rel="next"``)."""
    principal(request)
    q = query_as(request, CampaignsQuery)
    key = pages.decode(q.cursor, 3)
    try:
        after = (date.fromisoformat(key[0]), str(key[1]), uuid.UUID(key[2])) if key else None
    except (TypeError, ValueError):
        raise invalid("cursor", "not a cursor of this list") from None
    rows, total, cursor = await read_page(
        request,
        lambda conn, limit: catalogue.campaign_page(
            conn, request.app[SCHEMA], province=q.province, after=after, limit=limit, count=q.total
        ),
        q.limit,
        lambda last: [last["starts_on"].isoformat(), last["name"], str(last["campaign_id"])],
    )
    body = CampaignList(items=[campaign_view(r) for r in rows], total=total, next_cursor=cursor)
    return pages.page(request, body, cursor)


@routes.get("/v1/campaigns/{campaign_id}")
async def get_campaign(request: web.Request) -> web.Response:
    principal(request)
    return json(campaign_view(await campaign_row(request)))


@routes.get("/v1/campaigns/{campaign_id}/progress")
async def campaign_progress(request: web.Request) -> web.Response:
    """Planned / aired / missed against the targets, in total, per language, per kind and per commune."""
    principal(request)
    row = await campaign_row(request)
    definition = CampaignDefinition(**row["definition"])
    schema = request.app[SCHEMA]
    await fresh(request)
    async with request.app[POOL].acquire() as conn:
        counts = await campaign_counts(conn, schema, row["campaign_id"])
        names = {
            r["resource_id"]: r["name"]
            for r in await catalogue.resources(
                conn,
                schema,
                province=None,
                type=None,
                ids=list({c["resource_id"] for c in counts} | set(definition.communes)),
            )
        }
    found = [
        Count(c["resource_id"], c["language"], c["kind"], c["status"], c["n"], c["made_up"]) for c in counts
    ]
    return json(progress(row["campaign_id"], definition, found, names))
