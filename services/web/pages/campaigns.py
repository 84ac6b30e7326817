"""The desk's home: campaigns with their progress (the API's own numbers), and a form to plan one."""

from __future__ import annotations

import asyncio
from datetime import date

import aiohttp_jinja2
from aiohttp import web

from services.web.client import ApiProblem
from services.web.pages.common import api, form_key, new_key, reraise_signed_out, signed_in, writing

routes = web.RouteTableDef()


async def _home(request: web.Request, problem: ApiProblem | None = None, form=None, status: int = 200):
    session = signed_in(request)
    client = api(request)
    campaigns, communes = await asyncio.gather(
        client.campaigns(session.token, province=session.province),
        client.resources(session.token, province=session.province, type="commune"),
    )
    progress = await asyncio.gather(
        *(client.progress(session.token, c["campaign_id"]) for c in campaigns[:30])
    )
    padded = [*progress, *([None] * (len(campaigns) - len(progress)))]
    return aiohttp_jinja2.render_template(
        "campaigns.html",
        request,
        {
            "campaigns": list(zip(campaigns, padded, strict=True)),
            "communes": communes,
            "problem": problem,
            "form": form or {},
            "key": new_key(),
        },
        status=status,
    )


@routes.get("/desk")
async def home(request: web.Request) -> web.Response:
    return await _home(request)


@routes.post("/desk/campaigns")
async def create(request: web.Request) -> web.Response:
    session = await writing(request)
    form = await request.post()
    communes = form.getall("communes", [])
    if form.get("all_communes"):
        communes = [r["resource_id"] for r in await api(request).resources(
            session.token, province=session.province, type="commune")]  # fmt: skip
    targets: dict = {}
    for name in ("airings_per_commune", "livestreams"):
        value = str(form.get(name, "")).strip()
        if value.isdigit():
            targets[name] = int(value)
    languages = [x.strip() for x in str(form.get("languages", "")).split(",") if x.strip()]
    if languages:
        targets["languages"] = languages
    body = {
        "name": str(form.get("name", "")).strip(),
        "topic": str(form.get("topic", "")).strip() or None,
        "province": str(form.get("province") or session.province or ""),
        "starts_on": str(form.get("starts_on", "")),
        "ends_on": str(form.get("ends_on", "")),
        "communes": communes,
        "targets": targets,
    }
    try:
        answer = await api(request).create_campaign(session.token, body, form_key(form))
    except ApiProblem as problem:
        reraise_signed_out(problem)
        return await _home(request, problem, dict(form), status=problem.status)
    raise web.HTTPSeeOther(f"/desk/campaigns/{answer.body['campaign_id']}")


@routes.get("/desk/campaigns/{campaign_id}")
async def detail(request: web.Request) -> web.Response:
    session = signed_in(request)
    client = api(request)
    campaign_id = request.match_info["campaign_id"]
    campaign, progress = await asyncio.gather(
        client.campaign(session.token, campaign_id), client.progress(session.token, campaign_id)
    )
    return aiohttp_jinja2.render_template(
        "campaign.html", request, {"campaign": campaign, "progress": progress, "today": date.today()}
    )
