"""Plan one airing, a series (rule builder in plain words, the RRULE and its next occurrences), or an
emergency bulletin (showing what it bumps before it does)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from contracts.localtime import VIETNAM, to_utc
from services.web.client import ApiProblem
from services.web.keys import LANGUAGE
from services.web.pages.builder import rule_from
from services.web.pages.common import api, form_key, new_key, reraise_signed_out, signed_in, writing
from services.web.rules import RuleError, describe, next_occurrences
from services.web.sessions import Session

routes = web.RouteTableDef()
KIND_OF_TYPE = {"commune": "loudspeaker", "programme": "radio", "page": "livestream"}


async def _page(request: web.Request, **extra) -> web.Response:
    session = signed_in(request)
    client = api(request)
    resources, campaigns = await asyncio.gather(
        client.resources(session.token, province=session.province),
        client.campaigns(session.token, province=session.province),
    )
    context = {
        "resources": resources,
        "campaigns": campaigns,
        "key": new_key(),
        "problem": None,
        "done": None,
        "form": {},
    } | extra
    return aiohttp_jinja2.render_template("plan.html", request, context, status=extra.get("status", 200))


@routes.get("/desk/plan")
async def plan_page(request: web.Request) -> web.Response:
    return await _page(request)


def _airing_body(form, resources: dict) -> dict:
    resource_id = str(form.get("resource_id", ""))
    kind = form.get("kind") or KIND_OF_TYPE.get(resources.get(resource_id, {}).get("type"), "loudspeaker")
    body = {
        "kind": kind,
        "resource_id": resource_id,
        "starts_at": f"{form.get('date')}T{form.get('time')}",
        "duration_minutes": int(str(form.get("duration_minutes") or 15)),
        "title": str(form.get("title", "")).strip(),
        "priority": str(form.get("priority") or "normal"),
    }
    for name in ("language", "script", "topic", "campaign_id"):
        if str(form.get(name, "")).strip():
            body[name] = str(form[name]).strip()
    return body


async def _planning_form(request: web.Request) -> tuple[Session, MultiDictProxy, dict[str, dict]]:
    """A planner's form (CSRF-checked) and the resources it may name, by id."""
    session = await writing(request)
    form = await request.post()
    return session, form, {r["resource_id"]: r for r in await api(request).resources(session.token)}


@routes.post("/desk/plan/airing")
async def plan_airing(request: web.Request) -> web.Response:
    session, form, resources = await _planning_form(request)
    try:
        answer = await api(request).plan_airing(session.token, _airing_body(form, resources), form_key(form))
    except ValueError:
        return await _page(
            request,
            problem=ApiProblem(422, {"title": "duration_minutes: a number"}),
            form=dict(form),
            status=422,
        )
    except ApiProblem as problem:
        reraise_signed_out(problem)
        return await _page(request, problem=problem, form=dict(form), status=problem.status)
    return await _page(request, done=answer.body)


@routes.post("/desk/plan/rule")
async def rule_preview(request: web.Request) -> web.Response:
    """The builder's sentence, RRULE and next occurrences, as the planner changes the choices (htmx)."""
    await writing(request)
    form = await request.post()
    language = request[LANGUAGE]
    context: dict = {"error": None, "rule": None, "sentence": None, "next": []}
    try:
        rule = rule_from(form)
        context["rule"], context["sentence"] = rule, describe(rule, language)
        day = form.get("date") or form.get("from_date")
        first = datetime.fromisoformat(f"{day}T{form.get('time') or form.get('start') or '00:00'}")
        context["next"] = next_occurrences(rule, first, 5)
    except RuleError as exc:
        context["error"] = str(exc)
    except ValueError:
        context["error"] = "date: YYYY-MM-DD"
    return aiohttp_jinja2.render_template("_rule_preview.html", request, context)


@routes.post("/desk/plan/series")
async def plan_series(request: web.Request) -> web.Response:
    session, form, resources = await _planning_form(request)
    try:
        airing = _airing_body(form, resources)
        body = {
            "resource_id": airing["resource_id"],
            "kind": airing["kind"],
            "rule": rule_from(form),
            "first_start": airing["starts_at"],
            "duration_minutes": airing["duration_minutes"],
            "title": airing["title"],
            "skip_conflicts": bool(form.get("skip_conflicts")),
        } | {k: airing[k] for k in ("language", "script", "topic", "campaign_id") if k in airing}
        # Days the series skips (EXDATE), at the series' time: "2027-01-01, 2027-02-17".
        skipped = [d.strip() for d in str(form.get("exdates", "")).replace(";", ",").split(",") if d.strip()]
        if skipped:
            body["exdates"] = [f"{d}T{form.get('time')}" for d in skipped]
        answer = await api(request).series(session.token, body, form_key(form))
    except (RuleError, ValueError) as exc:
        return await _page(request, problem=ApiProblem(422, {"title": str(exc)}), form=dict(form), status=422)
    except ApiProblem as problem:
        reraise_signed_out(problem)
        return await _page(request, problem=problem, form=dict(form), status=problem.status)
    return await _page(request, done={"series": answer.body})


# -- emergencies ----------------------------------------------------------------------------


async def _emergency_page(request: web.Request, **extra) -> web.Response:
    session = signed_in(request)
    communes = await api(request).resources(session.token, province=session.province, type="commune")
    now = datetime.now(VIETNAM) + timedelta(minutes=5)
    context = {
        "communes": communes,
        "key": new_key(),
        "problem": None,
        "done": None,
        "bumps": None,
        "form": {},
        "now": now,
    } | extra
    return aiohttp_jinja2.render_template("emergency.html", request, context, status=extra.get("status", 200))


@routes.get("/desk/emergency")
async def emergency_page(request: web.Request) -> web.Response:
    return await _emergency_page(request)


async def _in_the_way(request: web.Request, token: str, communes: list[str], start: datetime, end: datetime):
    """Normal airings on these communes that overlap the bulletin: what it would bump."""
    client = api(request)
    since = (start - timedelta(hours=6)).isoformat()
    window = {"from": since, "to": end.isoformat()}
    pages = await asyncio.gather(
        *(client.airings(token, resource_id=r, status="scheduled", limit=200, **window) for r in communes)
    )
    bumps = []
    for page in pages:
        for a in page["items"]:
            if a["priority"] != "emergency" and datetime.fromisoformat(a["ends_at"]) > start:
                bumps.append(a)
    return bumps


@routes.post("/desk/emergency")
async def emergency(request: web.Request) -> web.Response:
    session = await writing(request)
    form = await request.post()
    communes = form.getall("communes", [])
    try:
        start = to_utc(datetime.fromisoformat(f"{form.get('date')}T{form.get('time')}"))
        minutes = int(str(form.get("duration_minutes") or 15))
    except ValueError:
        return await _emergency_page(
            request, problem=ApiProblem(422, {"title": "date, time, duration"}), form=dict(form), status=422
        )
    end = start + timedelta(minutes=minutes)
    if form.get("mode") != "commit":
        bumps = await _in_the_way(request, session.token, communes, start, end)
        return await _emergency_page(request, bumps=bumps, form=dict(form), chosen=communes)
    key = form_key(form)
    results = []
    for resource_id in communes:
        body = {
            "kind": "loudspeaker",
            "resource_id": resource_id,
            "starts_at": start.isoformat(),
            "duration_minutes": minutes,
            "title": str(form.get("title", "")).strip(),
            "priority": "emergency",
            "language": str(form.get("language") or "Kinh"),
        }
        if str(form.get("script", "")).strip():
            body["script"] = str(form["script"]).strip()
        try:
            answer = await api(request).plan_airing(session.token, body, f"{key}:{resource_id}")
            results.append((resource_id, answer.body, None))
        except ApiProblem as problem:
            reraise_signed_out(problem)
            results.append((resource_id, None, problem))
    return await _emergency_page(request, done=results, form=dict(form))
