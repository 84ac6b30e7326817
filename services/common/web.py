"""What every Loa HTTP service shares: problem+json errors, request ids, bearer auth,
the Idempotency-Key header, Prometheus metrics and JSON bodies through pydantic contracts.
The store that replays answers under a key is services.common.idempotency.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import aio_pika
import aiormq
import asyncpg
import orjson
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pydantic import BaseModel, ValidationError

from contracts.envelope import EventMetadata
from services.common.auth import InvalidToken, Keyring, Principal, verify
from services.common.revocations import REVOCATIONS
from services.common.supervisor import Supervisor

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)
PROBLEM = "application/problem+json"

SECRET = web.AppKey("token_secret", str)
KEYS = web.AppKey("token_keys", Keyring)
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
        {"field": ".".join(str(p) for p in err["loc"]) or whole, "reason": reason(err)}
        for err in exc.errors(include_url=False)
    ]


def reason(error: Any) -> str:
    """A pydantic error's message as a person reads it: our own checks' words without the
    "Value error, " that pydantic puts before them."""
    if error.get("type") == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return error["msg"]


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


def _token(request: web.Request) -> str:
    header = request.headers.get("Authorization")
    if header is not None:
        if not header.startswith("Bearer ") or not header.removeprefix("Bearer ").strip():
            raise Problem(401, "Authentication required", "send Authorization: Bearer <token>")
        return header.removeprefix("Bearer ").strip()
    # Calendar apps, browsers' EventSource and links cannot send headers: a read takes ?token=.
    token = request.query.get("token")
    if token and request.method in ("GET", "HEAD"):
        return token
    raise Problem(401, "Authentication required", "send Authorization: Bearer <token>")


class VerifiedTokens:
    """Tokens whose signature was checked, with the principal each names, until it expires.

    Checking an HS256 signature costs more than the rest of a small request's authentication;
    a client sends the same token again and again. Revocation is still checked on every request.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._known: dict[tuple[int, str], tuple[Principal, float]] = {}

    def get(self, keys: Keyring, token: str) -> Principal | None:
        found = self._known.get((id(keys), token))
        if found is None or found[1] <= time.time():
            return None
        return found[0]

    def add(self, keys: Keyring, token: str, who: Principal) -> None:
        expires = _expiry(token)
        if expires is None:
            return
        if len(self._known) >= self.size:
            self._known.pop(next(iter(self._known)))
        self._known[(id(keys), token)] = (who, expires)


def _expiry(token: str) -> float | None:
    """The ``exp`` of a token already verified (its payload is trusted by then)."""
    try:
        payload = token.split(".")[1]
        return float(orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])
    except (IndexError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None


VERIFIED = web.AppKey("verified_tokens", VerifiedTokens)


def authenticated(request: web.Request) -> Principal:
    """The caller, whatever it may do: 401 for a missing, bad, expired or revoked token."""
    keys = request.app[KEYS] if KEYS in request.app else Keyring.of(request.app[SECRET])
    revoked = request.app.get(REVOCATIONS, frozenset())
    token = _token(request)
    verified = request.app.get(VERIFIED)
    who = verified.get(keys, token) if verified is not None else None
    if who is not None:
        if who.jti in revoked:
            raise Problem(401, "Invalid token", "token revoked")
        return who
    try:
        who = verify(keys, token, revoked=revoked, links=True)
    except InvalidToken as exc:
        raise Problem(401, "Invalid token", str(exc)) from None
    if verified is not None:
        verified.add(keys, token, who)
    return who


def principal(request: web.Request) -> Principal:
    """The caller of a read: any role but a collector; a link token only on its own feed."""
    who = authenticated(request)
    if not who.may_read(request.method, request.path):
        what = "a link token reads only its feed" if who.feed else f"a {who.role} token reads nothing"
        raise Problem(403, "Forbidden", what)
    return who


def in_scope(who: Principal, province: str | None) -> str | None:
    """The province a read is limited to: the one asked for, which must be the caller's own when
    its token names one (403 otherwise); the caller's when none was asked for."""
    if who.province is None or who.role != "viewer":
        return province  # planners read every province; they act in their own
    if province is not None and province != who.province:
        raise Problem(403, "Forbidden", f"{who.sub!r} reads {who.province} only, not {province}")
    return who.province


def request_metadata(request: web.Request, actor: str) -> EventMetadata:
    """Who caused the events a request writes, under which correlation id and Idempotency-Key."""
    correlation = request[CORRELATION_ID]
    try:
        correlation_id = uuid.UUID(correlation)
    except ValueError:
        correlation_id = None  # a caller's own X-Correlation-ID that is not a UUID stays in the logs only
    key = idempotency_key(request)
    if key is not None and len(key) > 200:
        # The event envelope keeps keys up to 200 characters; a longer one is kept as its digest.
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return EventMetadata(correlation_id=correlation_id, actor=actor, idempotency_key=key)


def new_id(request: web.Request, namespace: uuid.UUID, actor: str, given: uuid.UUID | None) -> uuid.UUID:
    """The id of what a POST creates: the one given, else derived from the Idempotency-Key (so a
    retry names the same thing), else random."""
    if given is not None:
        return given
    key = request.headers.get("Idempotency-Key")
    return uuid.uuid5(namespace, f"{actor}|{key}") if key else uuid.uuid4()


def reader(request: web.Request) -> Principal:
    """The caller of a feed (a calendar, the event stream, the dashboard): as :func:`principal`,
    which also takes the token as ``?token=`` for clients that cannot send headers."""
    return principal(request)


def require(request: web.Request, check: Callable[[Principal], bool], what: str) -> Principal:
    """The caller of a write, who must pass ``check``: 401 before anything is looked up, then 403."""
    who = authenticated(request)
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


RETRY_AFTER = 5
"""Seconds a client is asked to wait when a dependency is down (PostgreSQL restarts in about that)."""
BODY_TIMEOUT = 30.0
"""Seconds a request body may take to arrive; headers are bounded by the server's keep-alive timeout."""
CLIENT_GONE = 499  # nginx's "client closed request": in /metrics, neither a success nor our failure


def unavailable(exc: BaseException) -> str | None:
    """The dependency ``exc`` says is unreachable ("PostgreSQL", "RabbitMQ"), or None for other errors."""
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.CannotConnectNowError
        | asyncpg.AdminShutdownError
        | asyncpg.CrashShutdownError
        | asyncpg.TooManyConnectionsError,
    ):
        return "PostgreSQL"
    if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
        return "PostgreSQL"
    if isinstance(exc, aiormq.exceptions.AMQPError | aio_pika.exceptions.AMQPException):
        return "RabbitMQ"
    if isinstance(exc, OSError):  # refused, reset or timed out on the way to a server of ours
        return "PostgreSQL or RabbitMQ"
    return None


def client_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def middlewares(service: str, metrics: HttpMetrics, *, body_timeout: float = BODY_TIMEOUT) -> list:
    """Request ids, metrics and errors as problem+json: 503 with Retry-After when a dependency is
    down, nothing logged or counted as a failure when the client went away, 408 for a body that
    does not arrive in ``body_timeout`` seconds, 500 (logged with its traceback) for the rest."""

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
            if request.body_exists:
                try:  # read here, under a deadline; handlers get the body from aiohttp's cache
                    async with asyncio.timeout(body_timeout):
                        await request.read()
                except TimeoutError:
                    raise Problem(
                        408, "Request body too slow", f"the body did not arrive within {body_timeout:g} s"
                    ) from None
            response = await handler(request)
            status = response.status
        except Problem as problem:
            status = problem.status
            response = problem.response(request.path)
        except web.HTTPException as exc:
            status = exc.status
            response = Problem.from_http(exc).response(request.path)
        except asyncio.CancelledError:
            status = CLIENT_GONE  # the client left (or the server is stopping): nobody to answer
            raise
        except Exception as exc:
            if client_gone(request):
                status = CLIENT_GONE
                log.info("client went away", path=request.path, error=repr(exc))
                raise
            down = unavailable(exc)
            if down is None:
                log.exception("request failed", path=request.path)
                response = Problem(
                    500, "Internal error", f"request {request_id} failed; see the logs"
                ).response(request.path)
            else:
                log.warning("dependency unavailable", path=request.path, dependency=down, error=repr(exc))
                response = Problem(
                    503, "Service unavailable", f"{down} is unreachable; retry in a few seconds",
                    extra={"dependency": down},
                ).response(request.path)  # fmt: skip
            status = response.status
        finally:
            elapsed = time.perf_counter() - started
            metrics.requests.labels(service, request.method, route, str(status)).inc()
            metrics.latency.labels(service, request.method, route).observe(elapsed)
            structlog.contextvars.unbind_contextvars("request_id", "correlation_id")
        if status == 503 and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(RETRY_AFTER)
        if status == 408:
            response.force_close()
        response.headers["X-Request-Id"] = request_id
        response.headers["X-Correlation-Id"] = correlation_id
        return response

    return [context]


MAX_KEY = 255


def idempotency_key(request: web.Request) -> str | None:
    """The request's ``Idempotency-Key``: 1 to 255 printable characters, else 400."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_KEY:
        raise Problem(400, "Invalid Idempotency-Key", f"Idempotency-Key must be 1 to {MAX_KEY} characters")
    if not key.isprintable():
        raise Problem(400, "Invalid Idempotency-Key", "Idempotency-Key must hold printable characters only")
    return key


def broker_state(connection: Any) -> str:
    """The AMQP connection's state, "ok" while it is up. A robust connection is never "closed"
    while it reconnects: its transport and its ``connected`` event tell."""
    if connection is None or connection.is_closed:
        return "down: closed"
    transport = getattr(connection, "transport", None)
    connected = getattr(connection, "connected", None)
    if (
        transport is None
        or transport.connection.is_closed
        or (connected is not None and not connected.is_set())
    ):
        return "down: reconnecting"
    return "ok"


async def readiness(
    pool: asyncpg.Pool, connection: Any, supervisor: Supervisor | None = None
) -> web.Response:
    """/readyz: 200 when PostgreSQL answers, the RabbitMQ connection is up and every background
    task runs; else 503 with Retry-After naming each check that fails."""
    checks: dict[str, Any] = {}
    try:
        async with asyncio.timeout(2), pool.acquire(timeout=2) as conn:
            await conn.fetchval("select 1")
        checks["postgresql"] = "ok"
    except Exception as exc:
        checks["postgresql"] = f"down: {exc!r}"[:300]
    checks["rabbitmq"] = broker_state(connection)
    tasks = {name: trouble or "ok" for name, trouble in (supervisor.troubles() if supervisor else {}).items()}
    failing = {k: v for k, v in checks.items() if v != "ok"} | {k: v for k, v in tasks.items() if v != "ok"}
    if failing:
        raise Problem(
            503,
            "Not ready",
            "; ".join(f"{k}: {v}" for k, v in failing.items()),
            extra={**checks, "tasks": tasks},
        )
    return json({"status": "ready", **checks, "tasks": tasks})
