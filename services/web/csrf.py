"""CSRF protection: every form and every script POST carries a token bound to the session.

The token is an HMAC of the session's credential under the web service's own
key, so it needs no storage and dies with the session. SameSite=Strict already
keeps the cookie off other sites' requests; this is the second lock.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

FIELD = "csrf"
HEADER = "X-CSRF-Token"


def token_for(key: str, session_token: str) -> str:
    return hmac.new(key.encode(), b"csrf|" + session_token.encode(), hashlib.sha256).hexdigest()


async def check(request: web.Request, key: str, session_token: str) -> None:
    """403 unless the request carries the session's CSRF token (form field or header)."""
    given = request.headers.get(HEADER)
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        given = (await request.post()).get(FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given, token_for(key, session_token)):
        raise web.HTTPForbidden(text="CSRF token missing or wrong: reload the page and try again")
