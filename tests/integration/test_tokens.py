"""Tokens and broker users against the real servers: revocation honoured by both services,
key rotation, read-only links, and broker users that cannot inject events."""

import asyncio
from uuid import uuid4

import aio_pika
import aiormq
import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.bus.topology import EVENTS_EXCHANGE
from services.common.auth import Keyring, issue, issue_link
from services.common.settings import Settings
from services.devstack import broker_users
from services.metrics.bootstrap import create_app as create_metrics
from tests.integration.pg import unique_schema
from tests.integration.scheduler_api import EA_TU, PLANNER, SECRET, bearer, client, events_seen

__all__ = ["client", "events_seen"]  # fixtures
NATIONAL = bearer("planner", sub="Trung tâm Truyền thông BHXH Việt Nam")


async def test_a_revoked_token_is_refused_by_both_services_within_seconds(client, pg_dsn, amqp_url):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    async with TestClient(TestServer(create_metrics(settings, schema=unique_schema("metrics")))) as metrics:
        jti = str(uuid4())
        viewer = {"Authorization": f"Bearer {issue(SECRET, 'Điện thoại bị mất', 'viewer', jti=jti)}"}
        assert (await client.get("/v1/resources", headers=viewer)).status == 200
        assert (await metrics.get("/v1/stats", headers=viewer)).status == 200
        path, why = f"/v1/tokens/{jti}/revocation", {"reason": "mất máy"}
        refused = await client.post(path, json=why, headers=PLANNER)
        assert refused.status == 403  # a province's planner may not revoke
        revoked = await client.post(path, json=why, headers=NATIONAL)
        assert revoked.status == 201, await revoked.text()
        assert (await revoked.json())["jti"] == jti
        assert (await client.get("/v1/resources", headers=viewer)).status == 401  # at once here
        async with asyncio.timeout(10):  # through the relay, RabbitMQ and the metrics log
            while (await metrics.get("/v1/stats", headers=viewer)).status != 401:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        problem = await (await metrics.get("/v1/stats", headers=viewer)).json()
        assert problem["detail"] == "token revoked"


async def test_keys_rotate_by_id(pg_dsn, amqp_url):
    old, new = "old-secret-0123456789abcdef", "new-secret-0123456789abcdef"
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=new, token_key_id="k2",
                        token_old_keys={"k1": old})  # fmt: skip
    async with TestClient(TestServer(create_metrics(settings, schema=unique_schema("metrics")))) as metrics:
        for keys in (Keyring.of(old, "k1"), Keyring.of(new, "k2")):
            token = issue(keys, "Bảng điều khiển", "viewer")
            answer = await metrics.get("/v1/stats", headers={"Authorization": f"Bearer {token}"})
            assert answer.status == 200
        stranger = issue(Keyring.of(new, "k3"), "Bảng điều khiển", "viewer")
        answer = await metrics.get("/v1/stats", headers={"Authorization": f"Bearer {stranger}"})
        assert answer.status == 401 and (await answer.json())["detail"] == "unknown signing key"
        forged = issue(Keyring.of("another-secret-0123456789", "k2"), "Bảng điều khiển", "viewer")
        assert (await metrics.get("/v1/stats", headers={"Authorization": f"Bearer {forged}"})).status == 401


async def test_a_link_reads_its_feed_and_nothing_else(client):
    calendar = f"/v1/resources/{EA_TU}/calendar.ics"
    link = await client.get("/v1/links", params={"feed": calendar}, headers=bearer("viewer"))
    assert link.status == 200, await link.text()
    url = (await link.json())["url"]
    assert (await client.get(url)).status == 200
    token = url.split("?token=")[1]
    assert (await client.get(f"/v1/resources/{EA_TU}/run-sheet", params={"token": token})).status == 403
    as_bearer = {"Authorization": f"Bearer {token}"}
    assert (await client.post("/v1/airings", json={}, headers=as_bearer)).status == 403
    assert (await client.get("/v1/links", params={"feed": "/v1/airings"}, headers=PLANNER)).status == 422
    dashboard = issue_link(SECRET, "/dashboard")
    assert (await client.get(calendar, params={"token": dashboard})).status == 403


async def test_the_dashboard_needs_a_token_and_asks_a_browser_for_it(client, pg_dsn, amqp_url):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    async with TestClient(TestServer(create_metrics(settings, schema=unique_schema("metrics")))) as metrics:
        api = await metrics.get("/dashboard")
        assert api.status == 401 and api.content_type == "application/problem+json"
        browser = await metrics.get("/dashboard", headers={"Accept": "text/html"})
        assert browser.status == 401 and "mã truy cập" in await browser.text()
        link = issue_link(SECRET, "/dashboard")
        assert (await metrics.get("/dashboard", params={"token": link})).status == 200
        assert (await metrics.get("/v1/stats", headers={"Authorization": f"Bearer {link}"})).status == 200
        assert (await metrics.get("/v1/reports/monthly", params={"token": link})).status == 403
        collector = issue(SECRET, "Bộ thu", "collector")
        assert (await metrics.get("/dashboard", params={"token": collector})).status == 403


async def test_expired_and_missing_tokens_are_401_whatever_the_id(client):
    expired = {"Authorization": f"Bearer {issue(SECRET, 'x', 'operator', resources=[EA_TU], ttl_seconds=-5)}"}
    for headers in ({}, {"Authorization": "Bearer abc.def.ghi"}, expired):
        for airing in (uuid4(), "not-a-uuid"):
            for action in ("confirmation", "live", "end"):
                answer = await client.post(f"/v1/airings/{airing}/{action}", json={}, headers=headers)
                assert answer.status == 401, (action, headers)


@pytest.fixture
async def broker_users_ready(stack, amqp_url):
    if stack is None:
        pytest.skip("needs the launcher's RabbitMQ (its management API)")
    await asyncio.to_thread(broker_users.ensure, stack.rabbitmq.management_url)


async def refused_to_publish(url: str, exchange: str, routing_key: str) -> bool:
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.get_exchange(exchange, ensure=False)
        try:
            await target.publish(aio_pika.Message(b'{"forged": true}'), routing_key=routing_key, timeout=5)
        except (aiormq.exceptions.ChannelAccessRefused, aio_pika.exceptions.ChannelClosed):
            return True
        return False
    finally:
        await connection.close()


async def test_only_the_scheduler_can_publish_events(broker_users_ready, amqp_url):
    collector = broker_users.url_for(amqp_url, "collector")
    metrics = broker_users.url_for(amqp_url, "metrics")
    scheduler = broker_users.url_for(amqp_url, "scheduler")
    assert await refused_to_publish(collector, EVENTS_EXCHANGE, "schedule.AiringScheduled")
    assert await refused_to_publish(collector, "", "metrics.scheduler-events")  # nor the default exchange
    assert await refused_to_publish(metrics, EVENTS_EXCHANGE, "schedule.AiringScheduled")
    assert await refused_to_publish(metrics, EVENTS_EXCHANGE, "access.TokenRevoked")
    assert not await refused_to_publish(scheduler, EVENTS_EXCHANGE, "schedule.TestOnly")
    assert not await refused_to_publish(metrics, EVENTS_EXCHANGE, "metrics.StatisticsUpdated")


async def test_the_metrics_service_runs_on_its_own_broker_user(broker_users_ready, client, pg_dsn, amqp_url):
    """It declares its queues, consumes and publishes figures with its own user."""
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET,
                        metrics_amqp_url=broker_users.url_for(amqp_url, "metrics"))  # fmt: skip
    async with TestClient(TestServer(create_metrics(settings, schema=unique_schema("metrics")))) as metrics:
        assert (await metrics.get("/readyz")).status == 200


async def test_a_collector_publishes_samples_only(broker_users_ready, amqp_url):
    admin = await aio_pika.connect(amqp_url)
    channel = await admin.channel()
    await channel.declare_exchange("metrics.samples", aio_pika.ExchangeType.FANOUT, durable=True)
    await admin.close()
    collector = broker_users.url_for(amqp_url, "collector")
    assert not await refused_to_publish(collector, "metrics.samples", "")
