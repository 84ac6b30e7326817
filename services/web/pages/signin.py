"""Sign in with a link (``/signin?token=…``), a pasted token or a grant's short code; sign out; switch the
language.

The link's token leaves the URL at once: the answer sets the session cookie and
moves on with a same-site navigation (a redirect straight from a link opened in
another app would carry no SameSite=Strict cookie on its first hop).
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from services.web import sessions
from services.web.client import ApiProblem
from services.web.i18n import LANGUAGES
from services.web.keys import SESSION
from services.web.pages.common import api, writing

routes = web.RouteTableDef()


def home_of(session: sessions.Session) -> str:
    return "/op/" if session.role == "operator" else "/desk"


@routes.get("/")
async def root(request: web.Request) -> web.Response:
    session = request[SESSION]
    raise web.HTTPSeeOther(home_of(session) if session else "/signin")


async def _open(request: web.Request, token: str) -> web.Response:
    session = sessions.session_of(token.strip())
    problem = None
    if session is not None:
        try:
            await api(request).check_token(session.token)
        except ApiProblem as exc:
            problem = exc
    if session is None or problem is not None:
        response = aiohttp_jinja2.render_template("signin.html", request, {"failed": True}, status=401)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    target = home_of(session)
    response = aiohttp_jinja2.render_template("signed_in.html", request, {"target": target})
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    sessions.open_session(response, request, session.token)
    return response


@routes.get("/signin")
async def signin_page(request: web.Request) -> web.Response:
    token = request.query.get("token")
    if token:
        return await _open(request, token)
    response = aiohttp_jinja2.render_template(
        "signin.html", request, {"failed": False, "expired": "expired" in request.query}
    )
    return response


@routes.post("/signin")
async def signin_form(request: web.Request) -> web.Response:
    form = await request.post()
    token = form.get("token")
    text = token.strip() if isinstance(token, str) else ""
    if text and "." not in text and len(text) <= 40:
        text = await _redeemed(request, text)
    return await _open(request, text)


async def _redeemed(request: web.Request, code: str) -> str:
    """The token of the grant a planner's short code names ("7KQ4-M2XD"), or "" (refused)."""
    client = api(request)
    try:
        answer = await client._call(
            "POST", client.scheduler + "/v1/grants/redeem", "", {"code": code}, forwarded_for=request.remote
        )
    except ApiProblem:
        return ""
    return answer.body["token"]


@routes.post("/signout")
async def signout(request: web.Request) -> web.Response:
    await writing(request)
    response = web.Response(status=303, headers={"Location": "/signin"})
    sessions.close_session(response)
    return response


@routes.post("/language")
async def language(request: web.Request) -> web.Response:
    form = await request.post()
    chosen = form.get("lang")
    back = form.get("back")
    target = back if isinstance(back, str) and back.startswith("/") and not back.startswith("//") else "/"
    response = web.Response(status=303, headers={"Location": target})
    if chosen in LANGUAGES:
        response.set_cookie(
            sessions.LANGUAGE_COOKIE, chosen, max_age=365 * 86400, path="/", samesite="Strict"
        )
    return response
