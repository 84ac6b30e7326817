"""What every Loa HTTP service shares: problem+json errors, request ids, bearer auth,
Idempotency-Key replay, Prometheus metrics and JSON bodies through pydantic contracts.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import orjson
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, ValidationError

from contracts.envelope import EventMetadata
from services.common.auth import InvalidToken, Principal, verify

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)
PROBLEM = "application/problem+json"

SECRET = web.AppKey("token_secret", str)
REQUEST_ID = web.RequestKey("request_id", str)
CORRELATION_ID = web.RequestKey("correlation_id", str)
METRICS = web.AppKey("http_metrics", object)


class Problem(Exception):
    """An RFC 9457 problem, raised by handlers and rendered by the middleware."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.errors = errors or []
        # Every refusal says what went wrong in ``detail``, also when it lists fields.
        detail = detail or "; ".join(f"{e['field']}: {e['reason']}" for e in self.errors) or None
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra or {}
        self.headers = headers or {}

    @classmethod
    def from_http(cls, exc: web.HTTPException) -> Problem:
        """aiohttp's own refusals (no route, method not allowed, body too large) as problems,
        keeping their headers (``Allow`` on a 405)."""
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        text = exc.text or ""
        detail = text if text and not text.startswith(f"{exc.status}:") else None
        if exc.status == 405 and detail is None:
            detail = f"this path answers {exc.headers.get('Allow', 'other methods')}"
        if exc.status == 404 and detail is None:
            detail = "no such path"
        return cls(exc.status, exc.reason, detail or exc.reason, headers=headers)

    def response(self, instance: str) -> web.Response:
        body = {"type": "about:blank", "title": self.title, "status": self.status, "instance": instance}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return web.Response(
            body=orjson.dumps(body), status=self.status, content_type=PROBLEM, headers=self.headers
        )


def field_errors(exc: ValidationError, whole: str = "body") -> list[dict[str, str]]:
    """Each refusal of a pydantic check as {field, reason}; ``whole`` names a refusal of the value itself."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or whole, "reason": err["msg"]}
        for err in exc.errors(include_url=False)
    ]


def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return web.Response(
        body=orjson.dumps(data), status=status, content_type="application/json", headers=headers
    )


async def body_as(request: web.Request, model: type[M]) -> M:
    """The request body parsed into ``model``: 400 when it is not JSON, 422 naming each bad field."""
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise Problem(400, "Body is not valid JSON", str(exc.errors()[0]["msg"])) from None
        raise Problem(422, "Invalid request", errors=field_errors(exc)) from None


def principal(request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Problem(401, "Authentication required", "send Authorization: Bearer <token>")
    try:
        return verify(request.app[SECRET], header.removeprefix("Bearer ").strip())
    except InvalidToken as exc:
        raise Problem(401, "Invalid token", str(exc)) from None


def request_metadata(request: web.Request, actor: str) -> EventMetadata:
    """Who caused the events a request writes, under which correlation id and Idempotency-Key."""
    correlation = request[CORRELATION_ID]
    try:
        correlation_id = uuid.UUID(correlation)
    except ValueError:
        correlation_id = None  # a caller's own X-Correlation-ID that is not a UUID stays in the logs only
    try:
        return EventMetadata(
            correlation_id=correlation_id, actor=actor, idempotency_key=request.headers.get("Idempotency-Key")
        )
    except ValidationError as exc:  # a key longer than the log keeps: the client's error, not ours
        reasons = [{"field": "Idempotency-Key", "reason": e["reason"]} for e in field_errors(exc)]
        raise Problem(400, "Invalid Idempotency-Key", errors=reasons) from None


def new_id(request: web.Request, namespace: uuid.UUID, actor: str, given: uuid.UUID | None) -> uuid.UUID:
    """The id of what a POST creates: the one given, else derived from the Idempotency-Key (so a
    retry names the same thing), else random."""
    if given is not None:
        return given
    key = request.headers.get("Idempotency-Key")
    return uuid.uuid5(namespace, f"{actor}|{key}") if key else uuid.uuid4()


def reader(request: web.Request) -> Principal:
    """The caller of a feed: calendar apps and browsers' EventSource cannot send headers,
    so a feed also takes its token as ``?token=``."""
    token = request.query.get("token")
    if token and "Authorization" not in request.headers:
        try:
            return verify(request.app[SECRET], token)
        except InvalidToken as exc:
            raise Problem(401, "Invalid token", str(exc)) from None
    return principal(request)


def require(request: web.Request, check: Callable[[Principal], bool], what: str) -> Principal:
    who = principal(request)
    if not check(who):
        raise Problem(403, "Forbidden", f"{who.role} {who.sub!r} may not {what}")
    return who


class HttpMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "loa_http_requests_total", "HTTP requests", ["service", "method", "route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "loa_http_request_seconds", "HTTP request latency", ["service", "method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )  # fmt: skip
        self.service = service

    async def handler(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


def middlewares(service: str, metrics: HttpMetrics) -> list:
    @web.middleware
    async def context(request: web.Request, handler):
        request_id = request.headers.get("X-Request-Id") or str(uuid.uuid4())
        correlation_id = request.headers.get("X-Correlation-Id") or request_id
        request[REQUEST_ID] = request_id
        request[CORRELATION_ID] = correlation_id
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=correlation_id)
        started = time.perf_counter()
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
        status = 500
        try:
            response = await handler(request)
            status = response.status
        except Problem as problem:
            status = problem.status
            response = problem.response(request.path)
        except web.HTTPException as exc:
            status = exc.status
            response = Problem.from_http(exc).response(request.path)
        except Exception:
            log.exception("request failed", path=request.path)
            response = Problem(500, "Internal error", f"request {request_id} failed; see the logs").response(
                request.path
            )
        finally:
            elapsed = time.perf_counter() - started
            metrics.requests.labels(service, request.method, route, str(status)).inc()
            metrics.latency.labels(service, request.method, route).observe(elapsed)
            structlog.contextvars.unbind_contextvars("request_id", "correlation_id")
        response.headers["X-Request-Id"] = request_id
        response.headers["X-Correlation-Id"] = correlation_id
        return response

    return [context]


# -- Idempotency-Key ----------------------------------------------------------------

IDEMPOTENCY_TABLE = """
create table if not exists {s}.idempotency (
    actor        text not null,
    key          text not null,
    request_hash text not null,
    status       integer not null,
    body         bytea not null,
    created_at   timestamptz not null default now(),
    primary key (actor, key)
)"""


class IdempotencyStore:
    """First responses to POSTs under an ``Idempotency-Key``, replayed to retries."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.schema = schema

    async def create(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(IDEMPOTENCY_TABLE.replace("{s}", self.schema))

    async def run(
        self, request: web.Request, actor: str, handle: Callable[[], Awaitable[web.Response]]
    ) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return await handle()
        if len(key) > 200:
            raise Problem(400, "Idempotency-Key too long", "at most 200 characters")
        digest = hashlib.sha256(request.method.encode() + request.path.encode() + await request.read())
        request_hash = digest.hexdigest()
        row = await self.pool.fetchrow(
            f"select request_hash, status, body from {self.schema}.idempotency where actor = $1 and key = $2",
            actor,
            key,
        )
        if row is not None:
            if row["request_hash"] != request_hash:
                raise Problem(
                    422, "Idempotency-Key reused", "this key was used for a different request; use a new key"
                )
            return web.Response(
                body=row["body"],
                status=row["status"],
                content_type=PROBLEM if row["status"] >= 400 else "application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = await handle()
        except Problem as problem:
            response = problem.response(request.path)
        if response.status < 500:
            await self.pool.execute(
                f"insert into {self.schema}.idempotency (actor, key, request_hash, status, body) "
                "values ($1, $2, $3, $4, $5) on conflict do nothing",
                actor,
                key,
                request_hash,
                response.status,
                response.body,
            )
        return response


async def readiness(pool: asyncpg.Pool, connection: Any) -> web.Response:
    """/readyz: 200 when PostgreSQL answers and the RabbitMQ connection is open, else 503 saying which."""
    checks = {}
    try:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("select 1")
        checks["postgresql"] = "ok"
    except Exception as exc:
        checks["postgresql"] = f"down: {exc}"
    checks["rabbitmq"] = "ok" if not connection.is_closed else "down"
    if any(v != "ok" for v in checks.values()):
        raise Problem(503, "Not ready", "; ".join(f"{k}: {v}" for k, v in checks.items()), extra=checks)
    return json({"status": "ready", **checks})
