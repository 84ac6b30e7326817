"""Token management on the scheduler, which keeps the event log every service reads them from:
revoke a token by its ``jti`` (an ``access.TokenRevoked`` event), and hand out read-only feed links."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from aiohttp import web

from contracts.events.access import TokenRevoked
from contracts.http.access import FeedLink, RevocationRequest, RevocationView
from services.common.auth import DASHBOARD, LINK_TTL, Keyring, issue_link
from services.common.revocations import REVOCATIONS
from services.common.web import KEYS, SECRET, Problem, body_as, json, principal, request_metadata, require
from services.scheduler.entrypoints.http.answers import refusals, wrote
from services.scheduler.keys import IDEMPOTENCY, RECORDS

routes = web.RouteTableDef()
FEEDS = re.compile(r"^/v1/(resources/[^/?#]{1,120}|campaigns/[0-9a-fA-F-]{36})/calendar\.ics$")


def token_stream(jti: str) -> str:
    # A stream id holds 200 characters; a jti may too: a long one is named by its digest.
    if len(jti) <= 190:
        return f"token-{jti}"
    return f"token-sha256-{hashlib.sha256(jti.encode()).hexdigest()}"


@routes.post("/v1/tokens/{jti}/revocation")
async def revoke(request: web.Request) -> web.Response:
    """Revoke a token (national planners): refused by every service within seconds."""
    who = require(request, lambda p: p.may_plan and p.province is None, "revoke tokens")
    jti = request.match_info["jti"]
    if not 0 < len(jti) <= 200 or not jti.isprintable():
        reason = "1 to 200 printable characters"
        raise Problem(422, "Invalid request", errors=[{"field": "jti", "reason": reason}])

    async def handle() -> web.Response:
        body = await body_as(request, RevocationRequest)
        event = TokenRevoked(jti=jti, revoked_by=who.sub, reason=body.reason, revoked_at=datetime.now(UTC))
        earlier: list = []

        def decide(history: list) -> list:
            earlier[:] = history
            return [] if history else [event]  # revoked once; a second time changes nothing

        with refusals():
            outcome = await request.app[RECORDS].record(
                token_stream(jti), decide, request_metadata(request, who.sub)
            )
        request.app[REVOCATIONS].add(jti)  # at once here; the other services within seconds
        wrote(request, outcome)
        first = earlier[0] if earlier else event
        return json(RevocationView(jti=jti, revoked_by=first.revoked_by, revoked_at=first.revoked_at,
                                   reason=first.reason), 200 if earlier else 201)  # fmt: skip

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.get("/v1/links")
async def feed_link(request: web.Request) -> web.Response:
    """A read-only link token for one calendar feed or the dashboard, in the caller's province scope."""
    who = principal(request)
    if who.feed is not None:
        raise Problem(403, "Forbidden", "a link token cannot hand out links")
    feed = request.query.get("feed", "")
    if feed != DASHBOARD and not FEEDS.match(feed):
        raise Problem(422, "Invalid query", errors=[{"field": "feed", "reason":
                      "a calendar feed (/v1/resources/{id}/calendar.ics, /v1/campaigns/{id}/calendar.ics) "
                      "or /dashboard"}])  # fmt: skip
    keys = request.app[KEYS] if KEYS in request.app else Keyring.of(request.app[SECRET])
    token = issue_link(keys, feed, sub=who.sub, province=who.province)
    return json(FeedLink(feed=feed, token=token, url=f"{feed}?token={quote(token)}",
                         expires_at=datetime.now(UTC) + timedelta(seconds=LINK_TTL)))  # fmt: skip
