"""HTTP bodies of token management on the scheduler API: revocations and read-only feed links."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from contracts.base import Contract


class RevocationRequest(Contract):
    """Why a token is revoked (kept with the event)."""

    reason: str | None = Field(default=None, max_length=500, examples=["điện thoại bị mất"])


class RevocationView(Contract):
    """A revoked token: both services refuse it within seconds."""

    jti: str
    revoked_by: str
    revoked_at: datetime
    reason: str | None = None


class FeedLink(Contract):
    """A read-only link to one feed: its token (audience ``loa:feed``) reads that feed and nothing else."""

    feed: str = Field(examples=["/v1/resources/loudspeaker:xa-ea-tu/calendar.ics"])
    token: str
    url: str = Field(description="the feed's path with ?token=, for a calendar app or a browser")
    expires_at: datetime
