"""HTTP bodies of operators' access managed by planners: grants, their hand-over and their codes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from contracts.base import Contract
from contracts.http.types import ResourceRef


class GrantRequest(Contract):
    """Give an operator a named set of resources in the planner's province."""

    name: str = Field(min_length=1, max_length=200, examples=["Loa truyền thanh xã Ea Tu"])
    operator: str = Field(min_length=1, max_length=120, examples=["Y Bơ Êban"])
    resources: list[ResourceRef] = Field(min_length=1, max_length=500, examples=[["loudspeaker:xa-ea-tu"]])
    days: int = Field(default=90, ge=1, le=366, description="how long the access lasts")
    grant_id: UUID | None = Field(default=None, description="optional; derived from the Idempotency-Key")


class GrantView(Contract):
    grant_id: UUID
    name: str
    operator: str
    province: str | None = None
    resources: list[str]
    granted_by: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revocation_reason: str | None = None


class GrantHandover(GrantView):
    """A new grant and how to hand it over: the sign-in link (also as a QR code), or the short code
    the operator types on the sign-in page. The code is shown once, here; only its digest is kept."""

    token: str = Field(description="the operator's token: jti = grant_id, resources = the grant's")
    code: str = Field(description="8 characters (Crockford base32) for POST /v1/grants/redeem")
    signin: str = Field(description="the web pages' sign-in address with the token, /signin?token=…")
    qr: str = Field(description="a PNG QR code of the sign-in address (planner's credential)")


class GrantList(Contract):
    items: list[GrantView]


class RedeemRequest(Contract):
    """The short code a planner handed over (case and dashes do not matter)."""

    code: str = Field(min_length=1, max_length=40, examples=["7KQ4-M2XD"])


class Redeemed(Contract):
    """The operator's token for the grant the code names."""

    grant_id: UUID
    name: str
    operator: str
    resources: list[str]
    expires_at: datetime
    token: str
    signin: str
