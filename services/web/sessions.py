"""Sessions: a sign-in link or a pasted token opens a session held in an HttpOnly, SameSite=Strict cookie.

The cookie carries the user's API token (the API's own credential, so roles
and scopes stay the API's); it is never put in a URL after sign-in, never
readable by the page's scripts (HttpOnly), never sent from another site
(SameSite=Strict) and only over TLS when the service is behind TLS (Secure).
The claims read here only decide which buttons a page shows; the API checks
every call with its own key.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import orjson
from aiohttp import web

COOKIE = "loa_session"
LANGUAGE_COOKIE = "loa_lang"
MAX_AGE = 30 * 24 * 3600


@dataclass(frozen=True)
class Session:
    """Who is signed in, as their token says: what the pages show them (the API decides what they may do)."""

    token: str
    sub: str
    role: str
    province: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def may_plan(self) -> bool:
        return self.role == "planner"

    @property
    def may_confirm(self) -> bool:
        return self.role in ("operator", "planner")


def claims_of(token: str) -> dict | None:
    """The claims a token carries, without checking its signature (the API does that).

    Loa's tokens are ``claims.signature``; a JWT is ``header.claims.signature``.
    """
    parts = token.split(".")
    if len(parts) not in (2, 3):
        return None
    body = parts[0] if len(parts) == 2 else parts[1]
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def session_of(token: str | None) -> Session | None:
    if not token or len(token) > 8192:
        return None
    claims = claims_of(token)
    if not claims or not isinstance(claims.get("role"), str):
        return None
    resources = claims.get("resources") or []
    return Session(
        token=token,
        sub=str(claims.get("sub", "")),
        role=claims["role"],
        province=claims.get("province") if isinstance(claims.get("province"), str) else None,
        resources=tuple(r for r in resources if isinstance(r, str)),
    )


def current(request: web.Request) -> Session | None:
    return session_of(request.cookies.get(COOKIE))


def is_tls(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto") == "https"


def open_session(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        COOKIE, token, max_age=MAX_AGE, path="/", httponly=True, samesite="Strict", secure=is_tls(request)
    )


def close_session(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
