"""The Idempotency-Key store: the first request under a key executes, its 2xx answer is kept
and replayed to every retry; a simultaneous request waits for it (services/common/web.py parses the header).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
import structlog
from aiohttp import web

from services.common.web import Problem, idempotency_key

log = structlog.get_logger(__name__)

# -- Idempotency-Key ----------------------------------------------------------------
# After draft-ietf-httpapi-idempotency-key-header: the first request under a key executes
# while its claim row (status null) tells simultaneous ones to wait; only the answer of a
# command that executed (2xx) is kept; anything else releases the claim, so a retry runs again.

IDEMPOTENCY_TABLE = """
create table if not exists {s}.idempotency (
    actor        text not null,
    key          text not null,
    request_hash text not null,
    status       integer,
    body         bytea,
    created_at   timestamptz not null default now(),
    primary key (actor, key)
);
alter table {s}.idempotency alter column status drop not null;
alter table {s}.idempotency alter column body drop not null;
alter table {s}.idempotency add column if not exists content_type text;
alter table {s}.idempotency add column if not exists location text;
alter table {s}.idempotency add column if not exists claimed_at timestamptz not null default now()
"""


def canonical(body: bytes) -> bytes:
    """One spelling of a JSON body (keys sorted, no whitespace), so that a retry formatted
    differently is still the same request; a body that is not JSON is compared as sent."""
    try:
        return orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        return body


class IdempotencyStore:
    """Claims ``Idempotency-Key``s and replays the answers of the commands run under them.

    ``lease`` bounds how long a claim holds when its process died mid-request (a request
    that runs renews its claim every ``lease / 3`` seconds, however long it takes); ``wait``
    how long a simultaneous request waits for the first one before a 409 "in progress".
    """

    def __init__(self, pool: asyncpg.Pool, schema: str, *, wait: float = 10.0, lease: float = 15.0) -> None:
        self.pool = pool
        self.schema = schema
        self.wait = wait
        self.lease = lease

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(IDEMPOTENCY_TABLE.replace("{s}", self.schema))

    async def run(
        self, request: web.Request, actor: str, handle: Callable[[], Awaitable[web.Response]]
    ) -> web.Response:
        key = idempotency_key(request)
        if key is None:
            return await handle()
        digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
        digest.update(canonical(await request.read()))
        request_hash = digest.hexdigest()
        deadline = time.monotonic() + self.wait
        pause = 0.01
        while True:
            row = await self._claim(actor, key, request_hash)
            if row is None:
                return await self._execute(actor, key, handle, request.path)
            if row["request_hash"] != request_hash:
                raise Problem(
                    422, "Idempotency-Key reused", "this key was used for a different request; use a new key"
                )
            if row["status"] is not None:
                return self._replay(row)
            if time.monotonic() >= deadline:
                busy = Problem(
                    409, "Request in progress", "a request with this Idempotency-Key is still running; retry"
                ).response(request.path)
                busy.headers["Retry-After"] = "1"
                return busy
            # Each look borrows a connection only for its statement: waiters never hold the pool.
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.2)

    async def _claim(self, actor: str, key: str, request_hash: str) -> asyncpg.Record | None:
        """None when this request now holds the key (a new claim, or one whose holder died),
        else the row of the request that holds it or answered it."""
        s = self.schema
        async with self.pool.acquire() as conn:
            claimed = await conn.fetchval(
                f"""insert into {s}.idempotency as i (actor, key, request_hash, claimed_at)
                    values ($1, $2, $3, now())
                    on conflict (actor, key) do update
                        set request_hash = excluded.request_hash, claimed_at = now(), created_at = now()
                        where i.status is null and (i.claimed_at < now() - make_interval(secs => $4)
                            -- claimed before the database last started: its request lost its
                            -- connections then, and could not release the claim
                            or i.claimed_at < pg_postmaster_start_time())
                    returning true""",
                actor,
                key,
                request_hash,
                self.lease,
            )
            if claimed:
                return None
            return await conn.fetchrow(
                f"select request_hash, status, body, content_type, location from {s}.idempotency "
                "where actor = $1 and key = $2",
                actor,
                key,
            ) or {"request_hash": request_hash, "status": None}  # released meanwhile: look again

    async def _execute(
        self, actor: str, key: str, handle: Callable[[], Awaitable[web.Response]], path: str
    ) -> web.Response:
        renewing = asyncio.create_task(self._renew(actor, key), name="idempotency-claim")
        try:
            try:
                response = await handle()
            except Problem as problem:
                response = problem.response(path)
        except BaseException:
            renewing.cancel()
            await asyncio.shield(self._release(actor, key))
            raise
        renewing.cancel()
        if 200 <= response.status < 300 and isinstance(response.body, bytes):
            await asyncio.shield(self._keep(actor, key, response))
        else:
            # Not an outcome of an executed command (a refusal, a conflict, a failure): a retry runs anew.
            await asyncio.shield(self._release(actor, key))
        return response

    async def _renew(self, actor: str, key: str) -> None:
        """Keep the claim while its request runs: a replica killed mid-request stops renewing, and
        a retry elsewhere takes the key over after ``lease`` seconds instead of waiting forever."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.pool.execute(
                    f"update {self.schema}.idempotency set claimed_at = now() "
                    "where actor = $1 and key = $2 and status is null",
                    actor,
                    key,
                )
            except (asyncpg.PostgresError, OSError) as exc:  # the request itself will meet it too
                log.warning("idempotency claim not renewed", key=key, error=str(exc))

    async def _keep(self, actor: str, key: str, response: web.Response) -> None:
        await self.pool.execute(
            f"update {self.schema}.idempotency set status = $3, body = $4, content_type = $5, location = $6 "
            "where actor = $1 and key = $2",
            actor,
            key,
            response.status,
            response.body,
            response.content_type,
            response.headers.get("Location"),
        )

    async def _release(self, actor: str, key: str) -> None:
        try:
            await self.pool.execute(
                f"delete from {self.schema}.idempotency where actor = $1 and key = $2 and status is null",
                actor,
                key,
            )
        except (asyncpg.PostgresError, OSError) as exc:
            # The claim then lapses after its lease; the caller's own error is what matters.
            log.warning("idempotency claim not released", key=key, error=str(exc))

    @staticmethod
    def _replay(row: Any) -> web.Response:
        headers = {"Idempotent-Replayed": "true"}
        if row["location"]:
            headers["Location"] = row["location"]
        response = web.Response(body=row["body"], status=row["status"], headers=headers)
        response.content_type = row["content_type"] or "application/json"
        return response
