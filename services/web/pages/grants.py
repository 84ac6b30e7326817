"""Operators' access on the planners' desk: grant an operator communes or programmes, hand the grant
over (sign-in link, QR code, short code), list the province's grants, revoke one. The API decides;
the page shows its answers. The QR code is drawn here, of this site's sign-in address."""

from __future__ import annotations

import aiohttp_jinja2
import segno
from aiohttp import web

from services.web.client import ApiProblem
from services.web.pages.common import api, form_key, new_key, reraise_signed_out, signed_in, writing

routes = web.RouteTableDef()


def _resources(text: str) -> list[str]:
    return [r.strip() for r in text.replace("\n", ",").split(",") if r.strip()]


async def _page(request: web.Request, session, *, handover=None, problem=None, form=None, status=200):
    grants = (await api(request)._get(api(request).scheduler, "/v1/grants", session.token))["items"]
    return aiohttp_jinja2.render_template(
        "grants.html",
        request,
        {"grants": grants, "handover": handover, "problem": problem, "form": form or {}, "key": new_key()},
        status=status,
    )


@routes.get("/desk/grants")
async def listing(request: web.Request) -> web.Response:
    session = signed_in(request)
    if not session.may_plan:
        raise web.HTTPForbidden(text="planners grant access")
    return await _page(request, session)


@routes.post("/desk/grants")
async def grant(request: web.Request) -> web.Response:
    session = await writing(request)
    form = await request.post()
    body = {
        "name": str(form.get("name", "")).strip(),
        "operator": str(form.get("operator", "")).strip(),
        "resources": _resources(str(form.get("resources", ""))),
    }
    if str(form.get("days", "")).strip().isdigit():
        body["days"] = int(str(form["days"]))
    client = api(request)
    try:
        answer = await client._call("POST", client.scheduler + "/v1/grants", session.token, body,
                                    key=form_key(form))  # fmt: skip
    except ApiProblem as problem:
        reraise_signed_out(problem)
        return await _page(request, session, problem=problem, form=dict(form), status=problem.status)
    handover = dict(answer.body)
    address = f"{request.url.origin()}{handover['signin']}"
    handover["address"] = address
    handover["qr_data"] = segno.make(address, error="m").png_data_uri(scale=5, border=4)
    return await _page(request, session, handover=handover, status=201)


@routes.post("/desk/grants/{grant_id}/revoke")
async def revoke(request: web.Request) -> web.Response:
    session = await writing(request)
    form = await request.post()
    client = api(request)
    path = f"/v1/grants/{request.match_info['grant_id']}/revocation"
    try:
        reason = str(form.get("reason", "")).strip() or None
        await client._call(
            "POST", client.scheduler + path, session.token, {"reason": reason}, key=form_key(form)
        )
    except ApiProblem as problem:
        reraise_signed_out(problem)
        return await _page(request, session, problem=problem, status=problem.status)
    raise web.HTTPSeeOther("/desk/grants")
