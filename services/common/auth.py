"""Bearer tokens with roles, signed with HMAC-SHA256 (no token database to keep).

A token is ``base64url(json claims) + "." + base64url(hmac)``. Claims:
``sub`` (who), ``role`` (planner | operator | viewer | collector), ``province``
(a planner's scope), ``resources`` (the resource ids an operator may confirm),
``exp`` (expiry, seconds since the epoch). Issue one with::

    python -m services.common.auth --role operator --sub "Y Bơ Êban" --resource loudspeaker:xa-ea-tu
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field

import orjson

ROLES = ("planner", "operator", "viewer", "collector")
DEV_SECRET = "loa-dev-secret-change-me"


class InvalidToken(Exception):
    """Missing, malformed, forged or expired token (HTTP 401)."""


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str
    province: str | None = None
    resources: frozenset[str] = field(default_factory=frozenset)

    def may_operate(self, resource_id: str) -> bool:
        """Operators confirm airings only on resources in their scope; planners plan everywhere."""
        if self.role == "planner":
            return True
        return self.role == "operator" and (resource_id in self.resources or "*" in self.resources)

    @property
    def may_plan(self) -> bool:
        return self.role == "planner"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(
    secret: str,
    sub: str,
    role: str,
    *,
    province: str | None = None,
    resources: list[str] | None = None,
    ttl_seconds: int = 90 * 24 * 3600,
) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    claims = {"sub": sub, "role": role, "exp": int(time.time()) + ttl_seconds}
    if province:
        claims["province"] = province
    if resources:
        claims["resources"] = sorted(resources)
    body = _b64(orjson.dumps(claims))
    signature = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature}"


def verify(secret: str, token: str) -> Principal:
    try:
        body, signature = token.split(".")
    except ValueError:
        raise InvalidToken("malformed token") from None
    expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        raise InvalidToken("bad signature")
    try:
        claims = orjson.loads(_unb64(body))
    except (ValueError, orjson.JSONDecodeError):
        raise InvalidToken("malformed claims") from None
    if claims.get("exp", 0) < time.time():
        raise InvalidToken("token expired")
    if claims.get("role") not in ROLES:
        raise InvalidToken("unknown role")
    return Principal(
        sub=str(claims.get("sub", "")),
        role=claims["role"],
        province=claims.get("province"),
        resources=frozenset(claims.get("resources", ())),
    )


def main(argv: list[str] | None = None) -> int:
    from services.common.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m services.common.auth", description="Issue a Loa token.")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--sub", required=True, help="who holds it, e.g. 'Trung tâm Truyền thông Đắk Lắk'")
    parser.add_argument("--province", help="a planner's province code")
    parser.add_argument("--resource", action="append", default=[], help="an operator's resource id (repeat)")
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args(argv)
    secret = Settings().token_secret
    print(issue(secret, args.sub, args.role, province=args.province, resources=args.resource,
                ttl_seconds=args.days * 86400))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
