"""A small client of Loa's public HTTP API, as the demo's planners, operators and collectors use it."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from services.common.api_call import answer_body, request_parts


class ApiError(Exception):
    """The API answered with an error the caller did not expect."""

    def __init__(self, method: str, url: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {url} -> {status}: {body}")
        self.status = status
        self.body = body


class Api:
    """One service's API; every call names its token, POSTs carry an Idempotency-Key so retries are safe."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base.rstrip("/")

    async def call(
        self,
        method: str,
        path: str,
        token: str,
        body: Any = None,
        *,
        key: str | None = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200, 201),
        attempts: int = 5,
        with_replayed: bool = False,
    ) -> Any:
        """The answer's JSON; with ``with_replayed``, (JSON, whether it is the replay of an earlier
        answer under the same Idempotency-Key)."""
        headers, data = request_parts(token, body, key)
        url = self.base + path
        for attempt in range(attempts):
            try:
                async with self.session.request(method, url, data=data, headers=headers, params=params) as r:
                    payload = answer_body(await r.read(), r.content_type)
                    if r.status in ok:
                        if with_replayed:
                            return payload, r.headers.get("Idempotent-Replayed") == "true"
                        return payload
                    # 503: a service still starting; the same key makes the retry harmless.
                    if r.status not in (502, 503, 504) or attempt == attempts - 1:
                        raise ApiError(method, url, r.status, payload)
            except (TimeoutError, aiohttp.ClientConnectionError):
                if attempt == attempts - 1:
                    raise
            await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")


async def gather_limited(coroutines: list, limit: int = 8) -> list:
    """Run the calls a few at a time, as a handful of operators' phones would."""
    gate = asyncio.Semaphore(limit)

    async def one(coroutine):
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines))
