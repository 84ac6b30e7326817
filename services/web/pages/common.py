"""What every page handler needs: the session it requires, CSRF on writes, a fresh Idempotency-Key."""

from __future__ import annotations

import uuid

from aiohttp import web

from services.web import csrf
from services.web.client import ApiProblem, LoaApi
from services.web.keys import API, CATALOGUES, CSRF_KEY, LANGUAGE, SESSION
from services.web.sessions import Session


def signed_in(request: web.Request) -> Session:
    """The session, or a redirect to the sign-in page."""
    session = request[SESSION]
    if session is None:
        raise web.HTTPSeeOther("/signin")
    return session


async def writing(request: web.Request) -> Session:
    """A signed-in user's write: CSRF-checked."""
    session = signed_in(request)
    await csrf.check(request, request.app[CSRF_KEY], session.token)
    return session


def api(request: web.Request) -> LoaApi:
    return request.app[API]


def gettext(request: web.Request):
    return request.app[CATALOGUES][request[LANGUAGE]].gettext


def form_key(form) -> str:
    """The Idempotency-Key a form carries (rendered into it once), so a double submit writes once."""
    key = form.get("idempotency_key")
    return key if isinstance(key, str) and 8 <= len(key) <= 100 else str(uuid.uuid4())


def new_key() -> str:
    return str(uuid.uuid4())


def reraise_signed_out(problem: ApiProblem) -> None:
    """A page shows the API's refusal beside the form, except a lapsed session (401): that one goes
    on to the pages' middleware, which sends the user to sign in again."""
    if problem.status == 401:
        raise problem
