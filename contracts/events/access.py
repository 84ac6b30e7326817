"""Access control events (wire names ``access.*``): what every service must know about tokens."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import Event


class TokenRevoked(Event):
    """A bearer or link token may no longer be used, whatever its expiry (named by its ``jti``).

    Recorded by the scheduler, published on ``loa.events``; every service refuses
    the token within seconds of reading this event.
    """

    wire_name: ClassVar[str] = "access.TokenRevoked"
    schema_version: ClassVar[int] = 1

    jti: str = Field(min_length=1, max_length=200, description="the token's id (its jti claim)")
    revoked_by: str = Field(max_length=200, description="who revoked it (the planner's sub)")
    reason: str | None = Field(default=None, max_length=500)
    revoked_at: AwareDatetime


class AccessGranted(Event):
    """A planner gave an operator a named set of resources (communes' loudspeakers, programmes, pages).

    The grant is handed over as a token whose ``jti`` is ``grant_id`` and whose ``resources`` are
    the grant's (a sign-in link, a QR code of it, or a short code exchanged for it). Only the
    code's digest is kept: whoever reads the log cannot sign in with it.
    """

    wire_name: ClassVar[str] = "access.AccessGranted"
    schema_version: ClassVar[int] = 1

    grant_id: UUID
    name: str = Field(min_length=1, max_length=200, description="what the grant is for, e.g. 'Loa xã Ea Tu'")
    operator: str = Field(min_length=1, max_length=120, description="who holds it (the token's sub)")
    province: str | None = Field(default=None, max_length=60, description="the province of its resources")
    resources: list[str] = Field(min_length=1, max_length=500)
    granted_by: str = Field(max_length=200)
    granted_at: AwareDatetime
    expires_at: AwareDatetime
    code_digest: str = Field(
        min_length=64, max_length=64, description="SHA-256 (hex) of the short sign-in code, never the code"
    )


class GrantRevoked(Event):
    """A grant was withdrawn; an ``access.TokenRevoked`` for its ``jti`` (the grant id) goes with it,
    so every service refuses its token within seconds."""

    wire_name: ClassVar[str] = "access.GrantRevoked"
    schema_version: ClassVar[int] = 1

    grant_id: UUID
    revoked_by: str = Field(max_length=200)
    reason: str | None = Field(default=None, max_length=500)
    revoked_at: AwareDatetime


EVENTS: tuple[type[Event], ...] = (TokenRevoked, AccessGranted, GrantRevoked)
__all__ = ["EVENTS", "AccessGranted", "GrantRevoked", "TokenRevoked"]
