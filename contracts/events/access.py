"""Access control events (wire names ``access.*``): what every service must know about tokens."""

from __future__ import annotations

from typing import ClassVar

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


EVENTS: tuple[type[Event], ...] = (TokenRevoked,)
__all__ = ["EVENTS", "TokenRevoked"]
