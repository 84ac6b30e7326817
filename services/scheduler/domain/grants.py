"""Operators' access, granted by planners: the short sign-in code and a grant's history. Pure.

A grant lives in stream ``grant-<grant_id>``: ``access.AccessGranted``, then perhaps
``access.GrantRevoked`` with the ``access.TokenRevoked`` of its token (jti = grant id) that every
service already honours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from contracts.base import Event
from contracts.events.access import AccessGranted, GrantRevoked, TokenRevoked
from services.scheduler.domain.errors import InvalidCommand

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread
CODE_LENGTH = 8  # 40 bits: typed on a phone in a few seconds
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def make_code(random_bytes: bytes) -> str:
    """An 8-character code from 5 random bytes, shown as XXXX-XXXX."""
    if len(random_bytes) != 5:
        raise ValueError("a code takes 5 random bytes")
    n = int.from_bytes(random_bytes, "big")
    symbols = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH)))
    return f"{symbols[:4]}-{symbols[4:]}"


def normalise_code(typed: str) -> str:
    """The code as typed by hand: case, spaces and dashes do not matter, nor I/L for 1 or O for 0."""
    code = "".join(ch for ch in typed.upper() if ch not in " -").translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise InvalidCommand("code", f"{CODE_LENGTH} letters and digits, as the planner handed it over")
    return code


def code_digest(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


@dataclass(frozen=True)
class Grant:
    granted: AccessGranted
    revoked: GrantRevoked | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked is None and now < self.granted.expires_at


def fold_grants(events: list[Event]) -> dict:
    """Each grant by id, from grant events in log order."""
    grants: dict = {}
    for event in events:
        match event:
            case AccessGranted():
                grants[event.grant_id] = Grant(event)
            case GrantRevoked() if event.grant_id in grants:
                grants[event.grant_id] = Grant(grants[event.grant_id].granted, event)
    return grants


def decide_grant(history: list[Event], granted: AccessGranted) -> list[Event]:
    """Record the grant once; a retry with the same id and details records nothing."""
    if not history:
        return [granted]
    first = history[0]
    same = isinstance(first, AccessGranted) and first.model_dump(
        exclude={"granted_at", "expires_at", "code_digest"}
    ) == granted.model_dump(exclude={"granted_at", "expires_at", "code_digest"})
    if not same:
        raise InvalidCommand("grant_id", f"grant {granted.grant_id} already exists with other details")
    return []


def decide_revoke(history: list[Event], revoked: GrantRevoked) -> list[Event]:
    """Withdraw the grant and revoke its token together; a second revocation changes nothing."""
    if any(isinstance(e, GrantRevoked) for e in history):
        return []
    return [
        revoked,
        TokenRevoked(
            jti=str(revoked.grant_id),
            revoked_by=revoked.revoked_by,
            reason=revoked.reason or "grant revoked",
            revoked_at=revoked.revoked_at,
        ),
    ]
