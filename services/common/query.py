"""Reading query parameters and request times: 422 naming the parameter when one is wrong."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import TypeVar

from aiohttp import web
from pydantic import ValidationError

from contracts.base import FIRST_DAY, LAST_DAY
from contracts.http.types import Query
from contracts.localtime import VIETNAM, NonexistentLocalTime, to_utc
from services.common.web import Problem, field_errors

Q = TypeVar("Q", bound=Query)


def query_as(request: web.Request, model: type[Q]) -> Q:
    """The request's query string parsed into ``model``: 422 naming each bad parameter."""
    try:
        return model.model_validate_strings(dict(request.query))
    except ValidationError as exc:
        raise Problem(422, "Invalid query", errors=field_errors(exc, "query")) from None


def invalid(field: str, reason: str) -> Problem:
    return Problem(422, "Invalid query", errors=[{"field": field, "reason": reason}])


def instant(value: datetime, field: str) -> datetime:
    """A time from a request: naive = Vietnam wall clock, aware = the instant it names."""
    try:
        return to_utc(value, VIETNAM)
    except NonexistentLocalTime as exc:
        raise Problem(422, "Invalid time", errors=[{"field": field, "reason": str(exc)}]) from None


def enum_param(value: str | None, enum: type[Enum], field: str) -> str | None:
    if value is None:
        return None
    try:
        return enum(value).value
    except ValueError:
        raise invalid(field, f"one of {', '.join(e.value for e in enum)}") from None


def day_or_time(value: str | None, field: str) -> datetime | None:
    """A local day (its midnight) or an ISO date-time, within the supported range, as a UTC instant."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(field, "ISO date or date-time") from None
    supported_day(parsed.date(), field)
    return instant(parsed, field)


def supported_day(day: date, field: str) -> date:
    """A day within the supported range (also a report's month, as its first day)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise invalid(field, f"must be within {FIRST_DAY} … {LAST_DAY}")
    return day


def integer(value: str | None, field: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise invalid(field, f"an integer {low}..{high}")
    return number


def uuid_param(value: str | None, field: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid(field, "a UUID") from None
