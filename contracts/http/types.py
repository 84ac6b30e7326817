"""Reusable field types of the HTTP bodies and queries: what a client may send, checked at the edge.

One supported range of days (``FIRST_DAY`` … ``LAST_DAY``, Vietnam time) for
every date and time; strings without control characters and of bounded length,
trimmed and non-empty where a name is required; counts within 0 … 2^53 − 1 (what
a JSON number holds exactly); strict JSON types: a time is a string, never a
number read as Unix time, and a number is a number, never the string ``"15"``.
Each refusal names the field and the reason (422).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from contracts.base import FIRST_DAY, LAST_DAY

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_SAFE_INTEGER = 2**53 - 1
MAX_AIRING = timedelta(hours=24)
YEAR = r"(20\d{2}|2100)"
"""The supported years, as a pattern a generator of examples can honour."""
_CLOCK = r"[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?"
LOCAL_DATE_TIME = rf"^{YEAR}-\d{{2}}-\d{{2}}{_CLOCK}$"
"""An ISO date-time; without an offset it is Vietnam wall-clock time (not RFC 3339 ``date-time``)."""
DATE = rf"^{YEAR}-\d{{2}}-\d{{2}}$"
DAY_OR_TIME = rf"^{YEAR}-\d{{2}}-\d{{2}}({_CLOCK})?$"
AS_OF = rf"^(\d{{1,16}}|{YEAR}-\d{{2}}-\d{{2}}({_CLOCK})?)$"
"""A log position or a local day or date-time."""
TIME_OF_DAY = r"^\d{2}:\d{2}(:\d{2})?$"
RESOURCE_ID = r"^[A-Za-z0-9][A-Za-z0-9:._~-]{0,119}$"
"""A resource id: letters, digits and ``: . _ ~ -``, at most 120 (``loudspeaker:xa-ea-tu``)."""
SLUG = r"^[a-z0-9][a-z0-9-]{0,39}$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_OR_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_control(value: str) -> str:
    if _CONTROL_OR_LINE.search(value):
        raise ValueError("must not contain control characters (NUL, line breaks, …)")
    return unicodedata.normalize("NFC", value)


def _no_control_but_lines(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (NUL, …) other than line breaks and tabs")
    return unicodedata.normalize("NFC", value)


def _named(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only spaces")
    return value.strip()


def text(max_length: int) -> Any:
    """A one-line string of at most ``max_length`` characters (may be empty)."""
    return Annotated[str, Field(max_length=max_length, strict=True), AfterValidator(_no_control)]


def name(max_length: int) -> Any:
    """A required one-line name: trimmed, non-empty, at most ``max_length`` characters."""
    return Annotated[
        str,
        Field(min_length=1, max_length=max_length, strict=True),
        AfterValidator(_no_control),
        AfterValidator(_named),
    ]


def body_text(max_length: int) -> Any:
    """A script or note: line breaks and tabs allowed, other control characters not."""
    return Annotated[str, Field(max_length=max_length, strict=True), AfterValidator(_no_control_but_lines)]


Title = name(300)
Language = Annotated[name(40), Field(examples=["Êđê"])]
Topic = text(300)
Reason = text(500)
AudioRef = text(500)
Url = text(1000)
Script = body_text(20_000)
Rule = text(500)
Code = text(40)
PlaceName = name(200)
Label = text(200)
Zone = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$", strict=True)
]
Province = Annotated[str, StringConstraints(pattern=SLUG, strict=True), Field(examples=["dak-lak"])]
ResourceRef = Annotated[
    str, StringConstraints(min_length=1, max_length=120, strict=True), AfterValidator(_no_control)
]
"""A resource named in a body (looked up; unknown ones are refused by name)."""
ResourceId = Annotated[
    str,
    StringConstraints(pattern=RESOURCE_ID, strict=True),
    Field(examples=["loudspeaker:xa-ea-tu"], description="letters, digits and : . _ ~ -, at most 120"),
]
"""The id a resource is registered under (PUT /v1/resources/{resource_id})."""


def integer(value: Any) -> Any:
    # Strict in every mode: bodies are parsed from JSON, samples from AMQP also as Python dicts.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer (a JSON number, not a string)")
    return value


def _time_text(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO date-time string (a number is not read as Unix time)")
    return value


def _day_text(value: Any) -> Any:
    if isinstance(value, datetime) or not isinstance(value, str | date):
        raise ValueError("must be an ISO date string (YYYY-MM-DD)")
    return value


def _time_of_day_text(value: Any) -> Any:
    if not isinstance(value, str | time):
        raise ValueError("must be a time of day string (HH:MM)")
    return value


Count = Annotated[int, BeforeValidator(integer), Field(ge=0, le=MAX_SAFE_INTEGER)]
Minutes = Annotated[int, BeforeValidator(integer), Field(gt=0, le=24 * 60)]


def in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be within {FIRST_DAY} … {LAST_DAY}")
    return value


def _local_day(value: datetime) -> datetime:
    try:
        day = value.astimezone(VIETNAM).date() if value.tzinfo else value.date()
    except OverflowError:  # year 1 or 9999 with an offset: beyond what datetime holds
        raise ValueError(f"must be within {FIRST_DAY} … {LAST_DAY}") from None
    in_range(day)
    return value


LocalDateTime = Annotated[
    datetime,
    BeforeValidator(_time_text),
    AfterValidator(_local_day),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": LOCAL_DATE_TIME,
            "examples": ["2023-08-07T17:30"],
            "description": "ISO date-time; without an offset, Asia/Ho_Chi_Minh wall-clock time; "
            f"within {FIRST_DAY} … {LAST_DAY}",
        }
    ),
]
"""A time a client enters: local wall clock without an offset, else the instant it names."""

Day = Annotated[
    date,
    BeforeValidator(_day_text),
    AfterValidator(in_range),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE, "examples": ["2023-08-07"]}),
]
TimeOfDay = Annotated[
    time,
    BeforeValidator(_time_of_day_text),
    WithJsonSchema({"type": "string", "pattern": TIME_OF_DAY, "examples": ["17:30"]}),
]


def _day_or_time(value: Any) -> Any:
    """A query's ``from``/``to``: ``2023-08-01`` means its local midnight."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return value.strip() + "T00:00:00"
    return value


DayOrTime = Annotated[
    datetime,
    BeforeValidator(_day_or_time),
    AfterValidator(_local_day),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DAY_OR_TIME,
            "examples": ["2023-08-01", "2023-08-01T17:30"],
            "description": "a local day or ISO date-time (Asia/Ho_Chi_Minh without an offset); "
            f"within {FIRST_DAY} … {LAST_DAY}",
        }
    ),
]
"""A query's day or time (query strings carry text, so this one is read, not strict)."""


def instant(value: datetime) -> datetime:
    """A time as a client means it: naive = Vietnam wall clock."""
    return value if value.tzinfo else value.replace(tzinfo=VIETNAM)


def check_length(starts_at: datetime, ends_at: datetime | None, minutes: int | None) -> None:
    """An airing ends after it starts and lasts at most 24 hours, however its end is given."""
    if ends_at is None:
        return
    length = instant(ends_at) - instant(starts_at)
    if length <= timedelta(0):
        raise ValueError("ends_at must be after starts_at")
    if length > MAX_AIRING:
        raise ValueError("an airing lasts at most 24 hours (ends_at - starts_at)")


class Query(BaseModel):
    """An endpoint's query parameters: parsed from the query string's text, unknown names ignored.

    The same model documents the parameters in the OpenAPI document (a field's alias is the
    parameter's name: ``from``).
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


Token = Annotated[
    str,
    StringConstraints(max_length=2000, pattern=r"^[A-Za-z0-9._~+/=-]*$"),
    Field(description="a token, for clients that cannot send headers"),
]
Limit = Annotated[int, Field(ge=1)]

Cursor = Annotated[
    str,
    Field(
        max_length=1000,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="opaque: the next page starts after the item it names (from the Link header, rel=next)",
    ),
]
WithTotal = Annotated[bool, Field(description="also count every matching item (costs a count)")]
