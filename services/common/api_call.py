"""How a client of Loa's public HTTP APIs (the web pages, the demo) dresses a call and reads its
answer: the caller's bearer token, an ``Idempotency-Key`` on a write so that its retry writes once,
a JSON body, and a JSON answer read as JSON."""

from __future__ import annotations

from typing import Any

import orjson


def request_parts(
    token: str, body: Any = None, key: str | None = None
) -> tuple[dict[str, str], bytes | None]:
    """The headers and the encoded body of a call made with ``token``."""
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    if body is None:
        return headers, None
    headers["Content-Type"] = "application/json"
    return headers, orjson.dumps(body)


def answer_body(raw: bytes, content_type: str) -> Any:
    """An answer's JSON, or its bytes when it is not JSON (a CSV, an XLSX, a calendar)."""
    return orjson.loads(raw) if raw and content_type.endswith("json") else raw
