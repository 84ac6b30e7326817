"""Bearer tokens: JSON Web Tokens (RFC 7519) signed with HS256, under a key id so keys can rotate.

Claims: ``iss`` (``loa``), ``aud`` (``loa:api`` for a credential, ``loa:feed`` for a
read-only link to one feed), ``sub`` (who), ``iat``, ``exp``, ``jti`` (the token's id,
by which it is revoked), ``role`` (planner | operator | viewer | collector), and the
scope: ``province`` (a planner's, viewer's or collector's province), ``resources``
(an operator's resources, a collector's pages), ``scope`` (a link token's feed path).
The header's ``kid`` names the key that signed it: the current key signs, older keys
still verify until they are dropped. See docs/adr/0005-tokens-and-scopes.md. Issue one with::

    python -m services.common.auth --role operator --sub "Y Bơ Êban" --resource loudspeaker:xa-ea-tu
    python -m services.common.auth --link /v1/resources/loudspeaker:xa-ea-tu/calendar.ics
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Container, Mapping
from dataclasses import dataclass, field

import jwt

ROLES = ("planner", "operator", "viewer", "collector")
DEV_SECRET = "loa-dev-secret-change-me-0123456789"  # public: refused outside a development stack
DEFAULT_KID = "k1"
ISSUER = "loa"
API = "loa:api"
FEED = "loa:feed"
DASHBOARD = "/dashboard"
# What the dashboard page reads with the link it was opened with (all GETs of the metrics service).
DASHBOARD_READS = ("/dashboard", "/v1/stats", "/v1/livestreams", "/v1/stream", "/v1/airings/")
LINK_TTL = 365 * 24 * 3600


class InvalidToken(Exception):
    """Missing, malformed, forged, expired or revoked token (HTTP 401)."""


@dataclass(frozen=True)
class Keyring:
    """The key that signs new tokens (``current``) and every key id still accepted."""

    current: str
    secrets: Mapping[str, str]

    @classmethod
    def of(cls, secret: str, kid: str = DEFAULT_KID, older: Mapping[str, str] | None = None) -> Keyring:
        return cls(kid, {**(older or {}), kid: secret})

    @classmethod
    def from_settings(cls, settings) -> Keyring:
        return cls.of(settings.token_secret, settings.token_key_id, settings.token_old_keys)


def keyring(keys: Keyring | str) -> Keyring:
    return keys if isinstance(keys, Keyring) else Keyring.of(keys)


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str
    province: str | None = None
    resources: frozenset[str] = field(default_factory=frozenset)
    jti: str = ""
    feed: str | None = None  # a link token's feed path: it reads that feed and nothing else

    @property
    def may_plan(self) -> bool:
        return self.role == "planner" and self.feed is None

    def in_province(self, province: str | None) -> bool:
        """A scoped token acts only in its province; one without a province is national."""
        return self.province is None or self.province == province

    def plans_in(self, province: str | None) -> bool:
        return self.may_plan and self.in_province(province)

    def may_operate(self, resource_id: str, province: str | None) -> bool:
        """Operators confirm, start and end airings on their resources; planners in their province."""
        if self.feed is not None:
            return False
        if self.role == "operator":
            return resource_id in self.resources or "*" in self.resources
        return self.plans_in(province)

    def may_collect(self, resource_id: str | None, province: str | None) -> bool:
        """Collectors post samples for their pages, or for their province's (all, when national);
        planners for their province's."""
        if self.feed is not None:
            return False
        if self.role == "collector":
            if self.resources:
                return resource_id in self.resources or "*" in self.resources
            return self.in_province(province)
        return self.plans_in(province)

    @property
    def may_collect_somewhere(self) -> bool:
        return self.feed is None and self.role in ("collector", "planner")

    def may_read(self, method: str, path: str) -> bool:
        """Collectors read nothing; a link token only its feed (the dashboard: what the page reads)."""
        if self.role == "collector":
            return False
        if self.feed is None:
            return True
        if method not in ("GET", "HEAD"):
            return False
        if self.feed == DASHBOARD:
            return any(path == p or (p.endswith("/") and path.startswith(p)) for p in DASHBOARD_READS)
        return path == self.feed


def issue(
    keys: Keyring | str,
    sub: str,
    role: str,
    *,
    province: str | None = None,
    resources: list[str] | None = None,
    ttl_seconds: int = 90 * 24 * 3600,
    now: float | None = None,
    jti: str | None = None,
) -> str:
    """A credential (audience ``loa:api``) for ``role``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    claims = {"role": role}
    if province:
        claims["province"] = province
    if resources:
        claims["resources"] = sorted(resources)
    return _sign(keyring(keys), sub, API, claims, ttl_seconds, now, jti)


def issue_link(
    keys: Keyring | str,
    feed: str,
    *,
    sub: str = "link",
    province: str | None = None,
    ttl_seconds: int = LINK_TTL,
    now: float | None = None,
) -> str:
    """A read-only link token (audience ``loa:feed``) for one feed path, or ``/dashboard``:
    what a calendar app or a dashboard address carries, never a credential that can write."""
    if not feed.startswith("/"):
        raise ValueError("a feed is a path, e.g. /v1/resources/loudspeaker:xa-ea-tu/calendar.ics")
    claims = {"role": "viewer", "scope": feed}
    if province:
        claims["province"] = province
    return _sign(keyring(keys), sub, FEED, claims, ttl_seconds, now, None)


def issue_grant(keys: Keyring | str, grant) -> str:
    """The operator's token of a grant (``access.AccessGranted``): jti = the grant id, resources =
    the grant's, valid from when it was granted until it expires. The same grant always gives the
    same token under the same key, so it can be handed over again (a QR code) without being stored."""
    claims = {"role": "operator", "resources": sorted(grant.resources), "grant": grant.name}
    if grant.province:
        claims["province"] = grant.province
    issued = grant.granted_at.timestamp()
    ttl = int(grant.expires_at.timestamp() - int(issued))
    return _sign(keyring(keys), grant.operator, API, claims, ttl, issued, str(grant.grant_id))


def _sign(keys: Keyring, sub, audience, claims, ttl_seconds, now, jti) -> str:
    issued = int(time.time() if now is None else now)
    payload = {
        "iss": ISSUER,
        "aud": audience,
        "sub": sub,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": jti or str(uuid.uuid4()),
        **claims,
    }
    return jwt.encode(payload, keys.secrets[keys.current], algorithm="HS256", headers={"kid": keys.current})


def verify(
    keys: Keyring | str,
    token: str,
    *,
    revoked: Container[str] = frozenset(),
    links: bool = False,
) -> Principal:
    """The principal a token names: 401 (:class:`InvalidToken`) when it is malformed, signed by an
    unknown key, forged, expired, for another issuer or audience, or revoked. ``links`` also
    accepts read-only link tokens."""
    ring = keyring(keys)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise InvalidToken("malformed token") from None
    secret = ring.secrets.get(kid) if isinstance(kid, str) else None
    if secret is None:
        raise InvalidToken("unknown signing key")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=[API, FEED] if links else API,
            issuer=ISSUER,
            options={"require": ["iss", "aud", "sub", "iat", "exp", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("a link token only reads its feed") from None
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    if claims["jti"] in revoked:
        raise InvalidToken("token revoked")
    role = claims.get("role")
    if role not in ROLES:
        raise InvalidToken("unknown role")
    feed = claims.get("scope") if claims["aud"] == FEED else None
    if claims["aud"] == FEED and (role != "viewer" or not isinstance(feed, str)):
        raise InvalidToken("a link token names one feed")
    resources = claims.get("resources", ())
    province = claims.get("province")
    if not isinstance(resources, list | tuple) or not isinstance(province, str | None):
        raise InvalidToken("malformed scope")
    return Principal(
        sub=str(claims["sub"]),
        role=role,
        province=province,
        resources=frozenset(str(r) for r in resources),
        jti=str(claims["jti"]),
        feed=feed,
    )


def main(argv: list[str] | None = None) -> int:
    from services.common.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m services.common.auth", description="Issue a Loa token.")
    parser.add_argument("--role", choices=ROLES)
    parser.add_argument("--sub", help="who holds it, e.g. 'Trung tâm Truyền thông Đắk Lắk'")
    parser.add_argument("--province", help="the province a planner, viewer or collector acts in")
    parser.add_argument(
        "--resource", action="append", default=[], help="an operator's resource, a collector's page (repeat)"
    )
    parser.add_argument("--link", metavar="FEED", help="a read-only link to a feed path or /dashboard")
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args(argv)
    keys = Keyring.from_settings(Settings())
    if args.link:
        print(issue_link(keys, args.link, province=args.province, ttl_seconds=args.days * 86400))
        return 0
    if not args.role or not args.sub:
        parser.error("--role and --sub (or --link)")
    print(issue(keys, args.sub, args.role, province=args.province, resources=args.resource,
                ttl_seconds=args.days * 86400))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
