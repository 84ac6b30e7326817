"""Keyset (cursor) pagination shared by every list: an opaque cursor and a ``Link: rel="next"``.

A cursor is the base64url of the last item's sort key (JSON). The next page starts strictly after
that key, so a page costs the same wherever it is in the list (no OFFSET scan) and rows inserted
meanwhile neither repeat nor shift the pages already read.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel

from services.common.query import invalid
from services.common.web import json


def encode(key: list[Any]) -> str:
    """The opaque cursor for a sort key (strings, numbers, None)."""
    return base64.urlsafe_b64encode(orjson.dumps(key)).rstrip(b"=").decode()


def decode(cursor: str | None, size: int) -> list[Any] | None:
    """The sort key a cursor carries; 422 naming ``cursor`` when it is not one of ours."""
    if cursor is None:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise invalid("cursor", "not a cursor this API gave (copy it from the Link header)") from None
    if not isinstance(key, list) or len(key) != size:
        raise invalid("cursor", "not a cursor of this list")
    return key


def next_url(request: web.Request, cursor: str) -> str:
    """This request's URL with ``cursor`` set (and any legacy ``offset`` dropped)."""
    query = {k: v for k, v in request.query.items() if k not in ("cursor", "offset")}
    query["cursor"] = cursor
    return str(request.rel_url.with_query(query))


def page(request: web.Request, body: BaseModel | dict, cursor: str | None) -> web.Response:
    """The JSON page, with ``Link: <…>; rel="next"`` when there is a next page."""
    headers = {"Link": f'<{next_url(request, cursor)}>; rel="next"'} if cursor else None
    return json(body, headers=headers)


def split(rows: list[Any], limit: int) -> tuple[list[Any], bool]:
    """Rows fetched with ``limit + 1``: the page, and whether there is more after it."""
    return rows[:limit], len(rows) > limit
