"""Base classes shared by every contract that crosses a service boundary."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """A frozen, strict pydantic model: unknown fields are refused, instances never change."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(Contract):
    """A domain event's payload.

    Subclasses declare their stable wire name (``context.EventType``, also the AMQP
    routing key) and the schema version of their current shape. Both are declared
    on the class, never derived from the module path, so that moving code never
    changes what is stored.
    """

    wire_name: ClassVar[str]
    schema_version: ClassVar[int] = 1

    @classmethod
    def context(cls) -> str:
        """The bounded context that owns the event (the part of the wire name before the dot)."""
        return cls.wire_name.split(".", 1)[0]


FIRST_DAY = date(2000, 1, 1)
"""The first local day (Asia/Ho_Chi_Minh) of the supported range: no date, time or month before it."""
LAST_DAY = date(2100, 12, 31)
"""The last local day of the supported range; planning past it is a typo, not a plan."""
