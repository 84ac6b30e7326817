"""The shared middleware's honest status codes, on a loopback server with no database behind it.

A dependency that is down is a 503 with Retry-After, never a 500; a client that
leaves is neither an error in the log nor a 5xx in /metrics; a body that does
not arrive in time is a 408; anything else is a 500, logged with its traceback.
"""

from __future__ import annotations

import asyncio

import aiormq
import asyncpg
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from services.common.web import METRICS, HttpMetrics, body_as, middlewares
from tests.polling import eventually


def app(body_timeout: float = 30.0) -> web.Application:
    metrics = HttpMetrics("test")
    application = web.Application(middlewares=middlewares("test", metrics, body_timeout=body_timeout))
    application[METRICS] = metrics

    async def database_down(request):
        raise asyncpg.CannotConnectNowError("the database system is starting up")

    async def broker_down(request):
        raise aiormq.exceptions.AMQPConnectionError("Server connection reset")

    async def bug(request):
        raise KeyError("a bug")

    async def echo(request):
        return web.json_response(await body_as(request, dict))

    async def firehose(request):
        response = web.StreamResponse()
        await response.prepare(request)
        while True:  # until the client leaves
            await response.write(b"data: x\n\n" * 4096)
            await asyncio.sleep(0.001)

    application.router.add_get("/database", database_down)
    application.router.add_get("/broker", broker_down)
    application.router.add_get("/bug", bug)
    application.router.add_post("/echo", echo)
    application.router.add_get("/firehose", firehose)
    return application


async def test_an_unreachable_dependency_is_a_503_with_retry_after_naming_it():
    async with TestClient(TestServer(app())) as client:
        for path, dependency in (("/database", "PostgreSQL"), ("/broker", "RabbitMQ")):
            response = await client.get(path)
            assert response.status == 503
            assert response.headers["Retry-After"] == "5"
            assert response.content_type == "application/problem+json"
            body = await response.json()
            assert body["dependency"] == dependency and dependency in body["detail"]


async def test_a_bug_is_a_500_logged_with_its_traceback():
    with structlog.testing.capture_logs() as logs:
        async with TestClient(TestServer(app())) as client:
            response = await client.get("/bug")
    assert response.status == 500 and "Retry-After" not in response.headers
    assert [e["event"] for e in logs if e.get("exc_info")] == ["request failed"]


async def test_a_body_that_does_not_arrive_in_time_is_a_408():
    server = TestServer(app(body_timeout=0.3))
    async with TestClient(server):
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"half\":")  # fmt: skip
        await writer.drain()
        async with asyncio.timeout(5):
            status_line = await reader.readline()
        assert status_line.startswith(b"HTTP/1.1 408"), status_line
        writer.close()


async def test_a_client_that_leaves_is_no_error_and_no_5xx():
    application = app()
    with structlog.testing.capture_logs() as logs:
        async with TestClient(TestServer(application)) as client:
            response = await client.get("/firehose")
            assert response.status == 200
            await response.content.read(10_000)
            response.close()  # the dashboard's tab is closed
            metrics = application[METRICS].requests

            def counted() -> bool:
                return any(s.labels.get("route") == "/firehose" for m in metrics.collect() for s in m.samples)

            await eventually(counted, timeout=5)
    statuses = {s.labels["status"] for m in metrics.collect() for s in m.samples if s.name.endswith("_total")}
    assert statuses == {"499"}
    assert not [e for e in logs if e["log_level"] in ("error", "critical")]
