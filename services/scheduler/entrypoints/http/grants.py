"""Operators' access managed by planners: grant an operator resources, hand the grant over (a sign-in
link, its QR code, a short code), list the grants, revoke one (its token refused within seconds)."""

from __future__ import annotations

import io
import ipaddress
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import segno
from aiohttp import web

from contracts.events import REGISTRY
from contracts.events.access import AccessGranted, GrantRevoked
from contracts.http.access import RevocationRequest
from contracts.http.grants import GrantHandover, GrantList, GrantRequest, GrantView, Redeemed, RedeemRequest
from services.common.auth import Keyring, Principal, issue_grant
from services.common.revocations import REVOCATIONS
from services.common.web import KEYS, SECRET, Problem, body_as, json, new_id, request_metadata, require
from services.scheduler.adapters import redeem_attempts
from services.scheduler.domain.grants import (
    Grant,
    code_digest,
    decide_grant,
    decide_revoke,
    fold_grants,
    make_code,
)
from services.scheduler.domain.redeem_limits import FAILURES, WINDOW
from services.scheduler.entrypoints.http.answers import fresh, refusals, wrote
from services.scheduler.entrypoints.http.commands import plannable
from services.scheduler.keys import IDEMPOTENCY, POOL, SCHEMA, STORE
from services.scheduler.keys import RECORDS as SCHEDULER

routes = web.RouteTableDef()
GRANT_IDS = uuid.UUID("3f1d9c2a-5b7e-4c8d-9a6f-1e2b3c4d5e6f")


def grant_stream(grant_id: uuid.UUID) -> str:
    return f"grant-{grant_id}"


def _keys(request: web.Request) -> Keyring:
    return request.app[KEYS] if KEYS in request.app else Keyring.of(request.app[SECRET])


def signin_path(token: str) -> str:
    return f"/signin?token={quote(token)}"


def view(grant: Grant) -> GrantView:
    g, r = grant.granted, grant.revoked
    return GrantView(
        grant_id=g.grant_id, name=g.name, operator=g.operator, province=g.province, resources=g.resources,
        granted_by=g.granted_by, granted_at=g.granted_at, expires_at=g.expires_at,
        revoked_at=r.revoked_at if r else None, revoked_by=r.revoked_by if r else None,
        revocation_reason=r.reason if r else None,
    )  # fmt: skip


async def grants(request: web.Request) -> dict:
    """Every grant, folded from the grant streams (the event store's read by category), once the
    store shows every grant this process wrote."""
    await fresh(request)  # the read model has applied them: the gap-free read is past them too
    store, events, after = request.app[STORE], [], 0
    while batch := await store.read_all(after, 1000, category="grant"):
        events += [REGISTRY.decode(e.type, e.schema_version, e.data) for e in batch]
        after = batch[-1].global_position
    return fold_grants(events)


async def one(request: web.Request, who: Principal) -> Grant:
    """The grant in the path, which must be in the planner's province (403) and exist (404)."""
    try:
        grant_id = uuid.UUID(request.match_info["grant_id"])
    except ValueError:
        raise Problem(404, "Not found", "grant ids are UUIDs") from None
    grant = (await grants(request)).get(grant_id)
    if grant is None:
        raise Problem(404, "Not found", f"no grant {grant_id}")
    if who.province is not None and grant.granted.province != who.province:
        raise Problem(403, "Forbidden", f"planner {who.sub!r} manages grants in {who.province} only")
    return grant


@routes.post("/v1/grants")
async def grant(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "grant access")

    async def handle() -> web.Response:
        body = await body_as(request, GrantRequest)
        provinces = {(await plannable(request, who, r, None))["province"] for r in body.resources}
        if len(provinces) > 1:
            raise Problem(422, "Invalid request", errors=[{"field": "resources", "reason":
                          f"one province per grant, not {', '.join(sorted(provinces))}"}])  # fmt: skip
        grant_id = new_id(request, GRANT_IDS, who.sub, body.grant_id)
        code = make_code(secrets.token_bytes(5))
        now = datetime.now(UTC).replace(microsecond=0)
        granted = AccessGranted(
            grant_id=grant_id, name=body.name, operator=body.operator, province=provinces.pop(),
            resources=sorted(set(body.resources)), granted_by=who.sub, granted_at=now,
            expires_at=now + timedelta(days=body.days), code_digest=code_digest(code),
        )  # fmt: skip
        with refusals():
            outcome = await request.app[SCHEDULER].record(
                grant_stream(grant_id), lambda history: decide_grant(history, granted),
                request_metadata(request, who.sub),
            )  # fmt: skip
        if not outcome.events:  # its code was shown once, to the first request: it is not kept
            raise Problem(409, "Already granted", f"grant {grant_id} exists; revoke it and grant again")
        wrote(request, outcome)
        token = issue_grant(_keys(request), granted)
        handover = GrantHandover(
            **view(Grant(granted)).model_dump(), token=token, code=code, signin=signin_path(token),
            qr=f"/v1/grants/{grant_id}/qr.png",
        )  # fmt: skip
        return json(handover, 201, {"Location": f"/v1/grants/{grant_id}"})

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


@routes.get("/v1/grants")
async def list_grants(request: web.Request) -> web.Response:
    """The grants a planner manages: its province's (every one for a national planner), newest first."""
    who = require(request, lambda p: p.may_plan, "list grants")
    wanted = request.query.get("province") or who.province
    if who.province is not None and wanted != who.province:
        raise Problem(403, "Forbidden", f"planner {who.sub!r} manages grants in {who.province} only")
    found = [g for g in (await grants(request)).values() if wanted is None or g.granted.province == wanted]
    found.sort(key=lambda g: (g.granted.granted_at, str(g.granted.grant_id)), reverse=True)
    return json(GrantList(items=[view(g) for g in found]))


@routes.get("/v1/grants/{grant_id}")
async def get_grant(request: web.Request) -> web.Response:
    who = require(request, lambda p: p.may_plan, "read grants")
    return json(view(await one(request, who)))


@routes.get("/v1/grants/{grant_id}/qr.png")
async def qr_code(request: web.Request) -> web.Response:
    """The sign-in address of a grant as a QR code, for the operator's phone camera.

    ``?base=`` names the web pages' address (default: this host on the web pages' port)."""
    who = require(request, lambda p: p.may_plan, "hand over grants")
    found = await one(request, who)
    if found.revoked is not None:
        raise Problem(409, "Revoked", f"grant {found.granted.grant_id} was revoked")
    base = request.query.get("base") or f"http://{request.url.host}:{os.environ.get('LOA_WEB_PORT', '8080')}"
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise Problem(422, "Invalid query", errors=[{"field": "base", "reason": "an http(s) address"}])
    address = base.rstrip("/") + signin_path(issue_grant(_keys(request), found.granted))
    png = io.BytesIO()
    segno.make(address, error="m").save(png, kind="png", scale=6, border=4)
    return web.Response(body=png.getvalue(), content_type="image/png", headers={"Cache-Control": "no-store"})


@routes.post("/v1/grants/{grant_id}/revocation")
async def revoke_grant(request: web.Request) -> web.Response:
    """Withdraw a grant: its token is refused at once here, within seconds by the other services."""
    who = require(request, lambda p: p.may_plan, "revoke grants")

    async def handle() -> web.Response:
        found = await one(request, who)
        body = await body_as(request, RevocationRequest)
        grant_id = found.granted.grant_id
        revoked = GrantRevoked(grant_id=grant_id, revoked_by=who.sub, reason=body.reason,
                               revoked_at=datetime.now(UTC))  # fmt: skip
        with refusals():
            outcome = await request.app[SCHEDULER].record(
                grant_stream(grant_id), lambda history: decide_revoke(history, revoked),
                request_metadata(request, who.sub),
            )  # fmt: skip
        request.app[REVOCATIONS].add(str(grant_id))
        # The answer is the grant as its stream now holds it: no wait, no second read of every grant.
        return json(view(fold_grants(wrote(request, outcome).state)[grant_id]))

    return await request.app[IDEMPOTENCY].run(request, who.sub, handle)


def client_address(request: web.Request) -> str:
    """Who is guessing: the peer, or the address the web pages (a loopback or private peer) name in
    X-Forwarded-For for the browser they serve, so that one browser's guesses never lock out everyone
    signing in through the pages. A client on the public network cannot name another address."""
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    try:
        trusted = ipaddress.ip_address(peer).is_private and bool(forwarded)
        return str(ipaddress.ip_address(forwarded)) if trusted else peer
    except ValueError:
        return peer


@routes.post("/v1/grants/redeem")
async def redeem(request: web.Request) -> web.Response:
    """Exchange the short code a planner handed over for the operator's token (no token needed).

    Ten wrong codes from one address within ten minutes, and the next attempt is refused (429 with
    Retry-After) until the oldest leaves the window (``domain/redeem_limits.py``)."""
    body = await body_as(request, RedeemRequest)
    with refusals():
        digest = code_digest(body.code)
    now = datetime.now(UTC)
    # Every attempt counts as a wrong code until the code proves right: guesses sent in parallel
    # from one address never get past the limit together.
    schema, address = request.app[SCHEMA], client_address(request)
    async with request.app[POOL].acquire() as conn:
        wait, attempt = await redeem_attempts.reserve(conn, schema, address, now)
    if wait is not None:
        raise Problem(
            429, "Too many attempts",
            f"{FAILURES} wrong codes from {address} within {WINDOW.seconds // 60} minutes: try again "
            f"in {wait} s, or ask the planner for the link or the QR code",
            headers={"Retry-After": str(wait)},
        )  # fmt: skip
    for found in (await grants(request)).values():
        if secrets.compare_digest(found.granted.code_digest, digest):
            if not found.usable(now):
                break
            async with request.app[POOL].acquire() as conn:
                await redeem_attempts.forget(conn, schema, attempt)
            token = issue_grant(_keys(request), found.granted)
            g = found.granted
            return json(Redeemed(grant_id=g.grant_id, name=g.name, operator=g.operator,
                                 resources=g.resources, expires_at=g.expires_at, token=token,
                                 signin=signin_path(token)))  # fmt: skip
    # One answer for an unknown, revoked or expired code: it tells a guesser nothing.
    raise Problem(404, "Not found", "no valid grant has this code: ask the planner for a new one")
