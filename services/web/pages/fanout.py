"""The fan-out form: one bulletin to many communes, each in its languages, with a preview (the API's
dry run: airings per commune and language, every conflict named) before committing all or nothing,
or skipping the conflicts."""

from __future__ import annotations

import asyncio
from datetime import datetime

import aiohttp_jinja2
from aiohttp import web

from services.web.client import ApiProblem
from services.web.keys import LANGUAGE
from services.web.pages.builder import rule_from
from services.web.pages.common import api, form_key, new_key, reraise_signed_out, signed_in, writing
from services.web.rules import RuleError, describe

routes = web.RouteTableDef()


def request_body(form, communes_by_id: dict) -> dict:
    """The API's fan-out body from the form (the API checks every field again)."""
    communes = form.getall("communes", [])
    languages = form.getall("languages", [])
    scripts = {
        name.removeprefix("script:"): str(text).strip()
        for name, text in form.items()
        if name.startswith("script:") and str(text).strip()
    }
    body: dict = {
        "title": str(form.get("title", "")).strip(),
        "rule": rule_from(form),
        "from_date": str(form.get("from_date", "")),
        "to_date": str(form.get("to_date", "")),
        "window": int(str(form.get("window") or 1)),
        "duration_minutes": int(str(form.get("duration_minutes") or 15)),
        "gap_minutes": int(str(form.get("gap_minutes") or 0)),
        "scripts": scripts,
    }
    if form.get("campaign_id"):
        body["campaign_id"] = str(form["campaign_id"])
    if communes:
        body["communes"] = communes
    if languages:
        body["languages"] = languages
    if form.get("start"):
        body["start"] = str(form["start"])
    return body


async def _form_data(request: web.Request) -> tuple[list, list]:
    session = signed_in(request)
    client = api(request)
    return await asyncio.gather(
        client.campaigns(session.token, province=session.province),
        client.resources(session.token, province=session.province, type="commune"),
    )


@routes.get("/desk/fan-out")
async def form_page(request: web.Request) -> web.Response:
    campaigns, communes = await _form_data(request)
    languages = sorted({lang for r in communes for lang in r["languages"]}, key=lambda x: (x != "Kinh", x))
    return aiohttp_jinja2.render_template(
        "fanout.html",
        request,
        {"campaigns": campaigns, "communes": communes, "languages": languages, "key": new_key(),
         "campaign_id": request.query.get("campaign_id", "")},
    )  # fmt: skip


@routes.post("/desk/fan-out/preview")
async def preview(request: web.Request) -> web.Response:
    session = await writing(request)
    form = await request.post()
    communes = {r["resource_id"]: r for r in (await _form_data(request))[1]}
    context: dict = {
        "result": None,
        "problem": None,
        "rule_error": None,
        "names": {k: v["name"] for k, v in communes.items()},
    }
    try:
        body = request_body(form, communes)
        context["rule"], context["sentence"] = body["rule"], describe(body["rule"], request[LANGUAGE])
        answer = await api(request).fan_out(session.token, {**body, "dry_run": True}, None)
        context["result"] = answer.body
    except RuleError as exc:
        context["rule_error"] = str(exc)
    except ValueError:
        context["rule_error"] = "window, duration_minutes, gap_minutes: numbers"
    except ApiProblem as problem:
        reraise_signed_out(problem)
        context["problem"] = problem
    return aiohttp_jinja2.render_template("_fanout_preview.html", request, context)


@routes.post("/desk/fan-out/commit")
async def commit(request: web.Request) -> web.Response:
    session = await writing(request)
    form = await request.post()
    communes = {r["resource_id"]: r for r in (await _form_data(request))[1]}
    skip = form.get("mode") == "skip"
    context: dict = {
        "result": None,
        "problem": None,
        "skip": skip,
        "campaign_id": form.get("campaign_id"),
        "from_date": form.get("from_date"),
        "names": {k: v["name"] for k, v in communes.items()},
    }
    started = datetime.now()
    try:
        body = request_body(form, communes) | {"skip_conflicts": skip}
        key = form_key(form) + ("-skip" if skip else "-all")
        context["result"] = (await api(request).fan_out(session.token, body, key)).body
    except (RuleError, ValueError) as exc:
        context["problem"] = ApiProblem(422, {"title": "Invalid fan-out", "detail": str(exc)})
    except ApiProblem as problem:
        reraise_signed_out(problem)
        context["problem"] = problem
    context["seconds"] = (datetime.now() - started).total_seconds()
    status = 201 if context["result"] else context["problem"].status
    return aiohttp_jinja2.render_template("fanout_done.html", request, context, status=status)
