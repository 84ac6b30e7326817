"""Why the domain refuses a command. The HTTP layer maps each to a status code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


class DomainError(Exception):
    """A command the rules refuse; nothing was decided."""


@dataclass(frozen=True)
class InTheWay:
    """An airing that blocks a request: named so the planner can act on it."""

    airing_id: UUID
    title: str
    starts_at: datetime
    ends_at: datetime


class Conflict(DomainError):
    """The window overlaps other airings on the resource (HTTP 409)."""

    def __init__(self, resource_id: str, in_the_way: list[InTheWay]) -> None:
        self.resource_id = resource_id
        self.in_the_way = in_the_way
        names = "; ".join(f"{a.title!r} {a.starts_at:%Y-%m-%d %H:%M}Z ({a.airing_id})" for a in in_the_way)
        super().__init__(f"{resource_id} is taken by {names}")


class NotFound(DomainError):
    """No such airing on this resource (HTTP 404)."""


class InvalidTransition(DomainError):
    """The airing's state does not allow this (e.g. confirming a cancelled airing, HTTP 409)."""


class InvalidCommand(DomainError):
    """The command contradicts itself (end before start…; HTTP 422)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class Forbidden(DomainError):
    """The actor may not act on this resource or in this province (HTTP 403)."""


class UnknownResource(InvalidCommand):
    """The command names a resource nobody registered (HTTP 422 on ``resource_id``)."""

    def __init__(self, resource_id: str) -> None:
        super().__init__("resource_id", f"no resource {resource_id!r}; register it first")
