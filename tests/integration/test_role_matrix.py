"""The role matrix: every operation of both services' /openapi.json × every kind of caller.

Each operation names its roles (``x-roles``). A cell is allowed (the answer is anything but
401/403: 200, 404, 409, 422 …) or refused (401 or 403); 0 cells may differ. Operations that act on
a resource are tried in the caller's own scope (A: an operator's commune, X: a planner's
province) and outside it (B, Y). A run of requests with ``?token=`` leaves no token in any log line.
"""

import asyncio
import logging
import re
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.common.auth import issue
from services.common.logging import redact_standard_logs
from services.common.settings import Settings
from services.metrics.bootstrap import create_app as create_metrics
from tests.integration.pg import unique_schema
from tests.integration.scheduler_api import EA_TU, PLANNER, SECRET, client, commune, events_seen, register

__all__ = ["client", "events_seen"]  # fixtures
B = "loudspeaker:xa-gio-linh"  # a commune of Quảng Trị (province Y)
PAGE_A, PAGE_B = "page:facebook:bhxh-dak-lak", "page:facebook:bhxh-quang-tri"
PLANNER_Y = {"Authorization": "Bearer " + issue(SECRET, "TT Quảng Trị", "planner", province="quang-tri")}


def token(role, **claims):
    return {"Authorization": f"Bearer {issue(SECRET, f'ma trận {role}', role, **claims)}"}


# (caller, context): the contexts are the scope the request acts in.
CALLERS = {
    ("none", "A"): {},
    ("bad token", "A"): {"Authorization": "Bearer not.a.token"},
    ("expired", "A"): token("viewer", ttl_seconds=-10),
    ("viewer", "A"): token("viewer"),
    ("collector", "A"): token("collector"),
    ("operator of A", "A"): token("operator", resources=[EA_TU, PAGE_A]),
    ("operator of A", "B"): token("operator", resources=[EA_TU, PAGE_A]),
    ("planner of X", "A"): token("planner", province="dak-lak"),
    ("planner of X", "B"): token("planner", province="dak-lak"),
}


def allowed(caller: str, context: str, roles: list[str]) -> bool:
    """What the documented roles promise this caller, in this context."""
    if "anyone" in roles:  # what a token is obtained with: no token needed, none refused
        return True
    if caller in ("none", "bad token", "expired"):
        return False
    if caller in ("viewer", "collector"):
        return caller in roles
    if "viewer" in roles:  # reads: any role but collectors, whatever the scope
        return True
    if caller == "operator of A":
        return "operator" in roles and context == "A"
    return "planner" in roles and context == "A"  # a province's planner acts in its province only


PER_ITEM_SCOPE = {"/v1/confirmations", "/v1/confirmations/as-run-log"}


def examples(ids: dict[str, dict[str, str]], context: str, method: str, path: str):
    """A request that reaches the operation's scope check in ``context``: (path, query, body)."""
    c = ids[context]
    concrete = path.format(airing_id=c["airing"], resource_id=c["resource"], campaign_id=c["campaign"],
                           series_id=c["series"], jti=str(uuid4()), grant_id=c["grant"])  # fmt: skip
    tomorrow = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%dT06:00")
    bodies = {
        ("post", "/v1/airings"): {"kind": "loudspeaker", "resource_id": c["resource"], "starts_at": tomorrow,
                                  "duration_minutes": 5, "title": "Bản tin ma trận", "language": "Kinh"},
        ("post", "/v1/airings/{airing_id}/reschedule"): {"starts_at": "2023-08-07T18:00"},
        ("post", "/v1/airings/{airing_id}/cancel"): {"reason": "ma trận"},
        ("post", "/v1/airings/{airing_id}/confirmation"): {"outcome": "aired"},
        ("post", "/v1/airings/{airing_id}/correction"): {"outcome": "missed", "reason": "mất điện",
                                                         "why": "ma trận"},
        ("post", "/v1/confirmations"): {"items": [{"airing_id": c["airing"], "outcome": "aired"}]},
        ("post", "/v1/confirmations/as-run-log"): None,
        ("post", "/v1/airings/{airing_id}/live"): {"url": "https://facebook.com/live"},
        ("post", "/v1/airings/{airing_id}/end"): None,
        ("post", "/v1/airings/{airing_id}/restore-bumped"): None,
        ("post", "/v1/grants"): {"name": "Ma trận", "operator": "Người vận hành",
                                 "resources": [c["resource"]]},
        ("post", "/v1/grants/{grant_id}/revocation"): {"reason": "ma trận"},
        ("post", "/v1/grants/redeem"): {"code": "0000-0000"},
        ("put", "/v1/resources/{resource_id}"): c["description"],
        ("post", "/v1/campaigns"): {"name": "Ma trận", "province": c["province"], "starts_on": "2023-08-01",
                                    "ends_on": "2023-08-31"},
        ("put", "/v1/campaigns/{campaign_id}"): {"name": "Ma trận", "province": c["province"],
                                                 "starts_on": "2023-08-01", "ends_on": "2023-08-31"},
        ("post", "/v1/series"): {"resource_id": c["resource"], "kind": "loudspeaker",
                                 "rule": "FREQ=WEEKLY;COUNT=2", "first_start": tomorrow,
                                 "duration_minutes": 5, "title": "Loạt ma trận"},
        ("post", "/v1/series/{series_id}/revision"): {"scope": "all", "title": "Loạt ma trận (sửa)"},
        ("post", "/v1/series/{series_id}/end"): {"reason": "ma trận"},
        ("post", "/v1/fan-outs"): {"title": "Bản tin ma trận", "communes": [c["resource"]],
                                   "rule": "FREQ=DAILY;COUNT=1", "from_date": tomorrow[:10],
                                   "to_date": tomorrow[:10], "window": 1, "duration_minutes": 5},
        ("post", "/v1/tokens/{jti}/revocation"): {"reason": "ma trận"},
        ("post", "/v1/samples"): {"items": [{"airing_id": c["stream"], "sampled_at": "2023-08-25T20:05",
                                             "counters": {"views": 1}}]},
        ("post", "/v1/admin/rebuild"): None,
    }  # fmt: skip
    queries = {
        "/v1/reports/monthly": {"month": "2023-08", "province": c["province"]},
        "/v1/links": {"feed": f"/v1/resources/{c['resource']}/calendar.ics"},
        "/v1/grants": {"province": c["province"]},
    }
    if method in ("post", "put") and (method, path) not in bodies:
        raise AssertionError(f"{method.upper()} {path} has no example in the role matrix: add one")
    return concrete, queries.get(path, {}), bodies.get((method, path))


async def scope(client, metrics, resource, page, province, headers):
    """An airing, a livestream, a campaign and a series in one province, known to both services."""
    description = commune("Xã Gio Linh", ["Kinh"], province=province) if resource == B else None
    if description:
        await register(client, resource, description, headers=headers)
    await register(client, page, {"type": "page", "name": f"Fanpage {province}", "province": province,
                                  "platform": "facebook"}, headers=headers)  # fmt: skip
    made = {}
    for name, path, body in (
        ("airing", "/v1/airings", {"kind": "loudspeaker", "resource_id": resource,
                                   "starts_at": "2023-08-07T17:30", "duration_minutes": 15,
                                   "title": "Bản tin", "language": "Kinh"}),
        ("stream", "/v1/airings", {"kind": "livestream", "resource_id": page,
                                   "starts_at": "2023-08-25T20:00", "duration_minutes": 60,
                                   "title": "Livestream"}),
        ("campaign", "/v1/campaigns", {"name": "Chiến dịch", "province": province,
                                       "starts_on": "2023-08-01", "ends_on": "2023-08-31"}),
        ("series", "/v1/series", {"resource_id": resource, "kind": "loudspeaker",
                                  "rule": "FREQ=WEEKLY;COUNT=3", "first_start": "2023-09-04T06:00",
                                  "duration_minutes": 10, "title": "Loạt"}),
        ("grant", "/v1/grants", {"name": "Quyền ma trận", "operator": "Người vận hành",
                                 "resources": [resource]}),
    ):  # fmt: skip
        response = await client.post(path, json=body, headers=headers)
        assert response.status == 201, await response.text()
        answer = await response.json()
        made[name] = (answer.get("airing_id") or answer.get("campaign_id") or answer.get("series_id")
                      or answer.get("grant_id"))  # fmt: skip
    async with asyncio.timeout(15):  # the metrics service hears of them through RabbitMQ
        url = f"/v1/airings/{made['stream']}/metrics"
        while (await metrics.get(url, headers=token("viewer"))).status != 200:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    description = description or commune("Xã Ea Tu", ["Kinh", "Êđê"], code="24133")
    return made | {"resource": resource, "province": province, "description": description}


@pytest.fixture
async def services(client, pg_dsn, amqp_url):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    async with TestClient(TestServer(create_metrics(settings, schema=unique_schema("metrics")))) as metrics:
        ids = {
            "A": await scope(client, metrics, EA_TU, PAGE_A, "dak-lak", PLANNER),
            "B": await scope(client, metrics, B, PAGE_B, "quang-tri", PLANNER_Y),
        }
        yield {"scheduler": client, "metrics": metrics}, ids


async def test_every_operation_answers_every_caller_as_documented(services, caplog):
    clients, ids = services
    differ, cells = [], 0
    redact_standard_logs()  # as configure_logging does when a service starts
    caplog.set_level(logging.INFO)
    async with asyncio.timeout(120):
        for name, service in clients.items():
            spec = await (await service.get("/openapi.json")).json()
            for path, operations in spec["paths"].items():
                for method, operation in operations.items():
                    roles = operation["x-roles"]
                    for (caller, context), headers in CALLERS.items():
                        concrete, query, body = examples(ids, context, method, path)
                        if path == "/v1/stream" or path.endswith(".ics") or path == "/dashboard":
                            query = query | {"token": headers["Authorization"][7:]} if headers else query
                            headers = {}  # feeds take their token in the address
                        response = await service.request(method.upper(), concrete, params=query, json=body,
                                                         headers=headers)  # fmt: skip
                        status = response.status
                        response.close()
                        cells += 1
                        # Bulk as-run records are scoped item by item (each refused item says why, in a
                        # 200): at the door only the role counts (tests/integration/test_bulk_confirmations).
                        door = "A" if path in PER_ITEM_SCOPE else context
                        if allowed(caller, door, roles) == (status in (401, 403)):
                            differ.append(f"{name} {method.upper()} {path}, {caller} in {context}: {status}")
    assert cells >= 9 * 25
    assert differ == []
    # Feeds took tokens in the address above: the access log saw them, no log line kept one.
    # (structlog lines name request.path, never the query; its processor is tested on its own.)
    lines = [r.getMessage() for r in caplog.records]
    assert any("token=…" in line for line in lines)
    assert [line for line in lines if re.search(r"token=(?!…)|Bearer (?!…)", line)] == []
