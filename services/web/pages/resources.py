"""Resources: communes (languages, windows), programmes (station, slots), pages (platform).

List, add, edit; the API checks each description."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from services.web.client import ApiProblem
from services.web.pages.common import api, reraise_signed_out, signed_in, writing

routes = web.RouteTableDef()
TYPES = ("commune", "programme", "page")
PREFIX = {"commune": "loudspeaker", "programme": "radio", "page": "page"}


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.replace("\n", ",").split(",") if x.strip()]


def description_from(form) -> dict:
    """The API's resource description from the form's plain fields ("05:30-06:30, 17:00-18:30")."""
    kind = str(form.get("type", "commune"))
    body: dict = {"type": kind, "name": str(form.get("name", "")).strip(),
                  "province": str(form.get("province", "")).strip()}  # fmt: skip
    for name in ("code", "district", "station", "platform", "url"):
        if str(form.get(name, "")).strip():
            body[name] = str(form[name]).strip()
    if kind == "commune":
        body["languages"] = _split(str(form.get("languages", "")))
        body["windows"] = [
            {"start": w.split("-")[0].strip(), "end": w.split("-")[-1].strip()}
            for w in _split(str(form.get("windows", "")))
        ]
    if kind == "programme":
        body["columns"] = _split(str(form.get("columns", "")))
        slots = []
        for line in str(form.get("slots", "")).splitlines():
            parts = line.split()
            if len(parts) == 3:
                slots.append({"rule": parts[0], "start": parts[1], "duration_minutes": int(parts[2])
                              if parts[2].isdigit() else parts[2]})  # fmt: skip
        body["slots"] = slots
    return body


@routes.get("/desk/resources")
async def listing(request: web.Request) -> web.Response:
    session = signed_in(request)
    kind = request.query.get("type") if request.query.get("type") in TYPES else None
    items = await api(request).resources(session.token, province=session.province, type=kind)
    return aiohttp_jinja2.render_template("resources.html", request, {"items": items, "type": kind})


async def _edit(request: web.Request, resource: dict, is_new: bool, problem=None, status=200):
    return aiohttp_jinja2.render_template(
        "resource_form.html", request, {"r": resource, "new": is_new, "problem": problem}, status=status
    )


@routes.get("/desk/resources/new")
async def new(request: web.Request) -> web.Response:
    session = signed_in(request)
    kind = request.query.get("type") if request.query.get("type") in TYPES else "commune"
    return await _edit(request, {"type": kind, "province": session.province or ""}, True)


@routes.get("/desk/resources/{resource_id}")
async def edit(request: web.Request) -> web.Response:
    session = signed_in(request)
    return await _edit(
        request, await api(request).resource(session.token, request.match_info["resource_id"]), False
    )


@routes.post("/desk/resources")
async def save(request: web.Request) -> web.Response:
    session = await writing(request)
    form = await request.post()
    resource_id = str(form.get("resource_id", "")).strip()
    prefix = PREFIX.get(str(form.get("type")), "loudspeaker") + ":"
    if form.get("new") and not resource_id.startswith(prefix):
        resource_id = prefix + resource_id
    description = description_from(form)
    try:
        await api(request).put_resource(session.token, resource_id, description)
    except ApiProblem as problem:
        reraise_signed_out(problem)
        # The form again as the planner wrote it (lists as the template shows them), with the API's reason.
        shown = (
            dict(form)
            | {"resource_id": resource_id, "type": description["type"]}
            | {name: description.get(name, []) for name in ("languages", "windows", "slots", "columns")}
        )
        return await _edit(request, shown, bool(form.get("new")), problem, status=problem.status)
    raise web.HTTPSeeOther(f"/desk/resources?type={description['type']}")
