"""Operators' access managed by planners: grant → hand-over (link, QR code, short code) → the
operator's token confirms only the granted resources → revoke → refused by both services within seconds."""

import asyncio
import re
import time
from urllib.parse import unquote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.common.auth import issue, verify
from services.common.settings import Settings
from services.metrics.bootstrap import create_app as create_metrics
from tests.integration.pg import unique_schema
from tests.integration.scheduler_api import (
    EA_TU,
    HOA_THANG,
    PLANNER,
    SECRET,
    client,
    commune,
    events_seen,
    register,
)
from tests.integration.test_web_pages import web

__all__ = ["client", "events_seen", "metrics", "web"]  # fixtures
PLANNER_Y = {"Authorization": "Bearer " + issue(SECRET, "TT Quảng Trị", "planner", province="quang-tri")}
GIO_LINH = "loudspeaker:xa-gio-linh"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def plan(client, resource_id: str, title: str) -> str:
    body = {"kind": "loudspeaker", "resource_id": resource_id, "starts_at": "2023-08-07T17:30",
            "duration_minutes": 15, "title": title, "language": "Kinh"}  # fmt: skip
    response = await client.post("/v1/airings", json=body, headers=PLANNER)
    assert response.status == 201, await response.text()
    return (await response.json())["airing_id"]


async def confirm(client, airing_id: str, headers) -> int:
    response = await client.post(f"/v1/airings/{airing_id}/confirmation", json={"outcome": "aired"},
                                 headers=headers)  # fmt: skip
    return response.status


@pytest.fixture
async def metrics(client, pg_dsn, amqp_url):
    settings = Settings(pg_dsn=pg_dsn, amqp_url=amqp_url, token_secret=SECRET)
    async with TestClient(TestServer(create_metrics(settings, schema=unique_schema("metrics")))) as metrics:
        yield metrics


async def test_a_grant_is_handed_over_used_in_its_scope_and_revoked_everywhere_within_seconds(
    client, metrics
):
    ea_tu = await plan(client, EA_TU, "Bản tin BHYT")
    hoa_thang = await plan(client, HOA_THANG, "Bản tin BHXH")
    request = {"name": "Loa truyền thanh xã Ea Tu", "operator": "Y Bơ Êban", "resources": [EA_TU], "days": 30}
    response = await client.post("/v1/grants", json=request, headers=PLANNER)
    assert response.status == 201, await response.text()
    handover = await response.json()
    grant_id = handover["grant_id"]
    assert response.headers["Location"] == f"/v1/grants/{grant_id}"
    assert (handover["province"], handover["resources"], handover["operator"]) == (
        "dak-lak",
        [EA_TU],
        "Y Bơ Êban",
    )
    claims = verify(SECRET, handover["token"])
    assert (claims.jti, claims.role, claims.resources) == (grant_id, "operator", frozenset({EA_TU}))
    assert unquote(handover["signin"]) == f"/signin?token={handover['token']}"
    assert len(handover["code"]) == 9 and handover["code"][4] == "-"

    # The QR code: a PNG of the web pages' sign-in address.
    qr = await client.get(handover["qr"], params={"base": "https://loa.example.vn"}, headers=PLANNER)
    assert qr.status == 200 and qr.content_type == "image/png"
    assert (await qr.read()).startswith(b"\x89PNG\r\n\x1a\n")
    assert (await client.get(handover["qr"], params={"base": "javascript:x"}, headers=PLANNER)).status == 422

    # The short code, typed by hand (lower case, no dash), gives the same token; a wrong one nothing.
    typed = handover["code"].replace("-", "").lower()
    redeemed = await client.post("/v1/grants/redeem", json={"code": typed})
    assert redeemed.status == 200, await redeemed.text()
    assert (await redeemed.json())["token"] == handover["token"]
    wrong = "0000-0000" if handover["code"] != "0000-0000" else "1111-1111"
    assert (await client.post("/v1/grants/redeem", json={"code": wrong})).status == 404
    assert (await client.post("/v1/grants/redeem", json={"code": "ngắn"})).status == 422

    # The operator's token confirms only the granted commune's airings.
    operator = bearer(handover["token"])
    assert await confirm(client, hoa_thang, operator) == 403
    assert await confirm(client, ea_tu, operator) == 200
    assert (await metrics.get("/v1/stats", headers=operator)).status == 200

    # Grants are listed by province: another province's planner sees none of them and revokes none.
    listed = await (await client.get("/v1/grants", headers=PLANNER)).json()
    assert [g["grant_id"] for g in listed["items"]] == [grant_id]
    assert (await client.get("/v1/grants", params={"province": "dak-lak"}, headers=PLANNER_Y)).status == 403
    await register(
        client, GIO_LINH, commune("Xã Gio Linh", ["Kinh"], province="quang-tri"), headers=PLANNER_Y
    )
    assert (await (await client.get("/v1/grants", headers=PLANNER_Y)).json())["items"] == []
    foreign = await client.post(f"/v1/grants/{grant_id}/revocation", json={}, headers=PLANNER_Y)
    assert foreign.status == 403
    across = await client.post("/v1/grants", json=request | {"resources": [GIO_LINH]}, headers=PLANNER)
    assert across.status == 403

    # Revoked: the scheduler refuses the token at once, the metrics service within seconds.
    revoked = await client.post(f"/v1/grants/{grant_id}/revocation", json={"reason": "đổi người"},
                                headers=PLANNER)  # fmt: skip
    assert revoked.status == 200, await revoked.text()
    started = time.monotonic()
    view = await revoked.json()
    assert (view["revoked_by"], view["revocation_reason"]) == (
        "Trung tâm Truyền thông BHXH Đắk Lắk",
        "đổi người",
    )
    assert (await client.get("/v1/airings", headers=operator)).status == 401
    assert await confirm(client, ea_tu, operator) == 401
    async with asyncio.timeout(10):
        while (await metrics.get("/v1/stats", headers=operator)).status != 401:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    assert time.monotonic() - started < 10
    # Its code and its QR code are spent; a second revocation changes nothing.
    assert (await client.post("/v1/grants/redeem", json={"code": typed})).status == 404
    assert (await client.get(handover["qr"], headers=PLANNER)).status == 409
    again = await client.post(f"/v1/grants/{grant_id}/revocation", json={}, headers=PLANNER)
    assert again.status == 200 and (await again.json())["revoked_at"] == view["revoked_at"]


async def test_only_planners_grant_and_a_grant_names_known_resources(client):
    request = {"name": "Loa xã", "operator": "Y Bơ Êban", "resources": [EA_TU]}
    operator = bearer(issue(SECRET, "Y Bơ Êban", "operator", resources=[EA_TU]))
    assert (await client.post("/v1/grants", json=request)).status == 401
    assert (await client.post("/v1/grants", json=request, headers=operator)).status == 403
    assert (await client.get("/v1/grants", headers=operator)).status == 403
    unknown = await client.post("/v1/grants", json=request | {"resources": ["loudspeaker:xa-khong-co"]},
                                headers=PLANNER)  # fmt: skip
    assert unknown.status == 422 and "resource_id" in await unknown.text()
    keyed = PLANNER | {"Idempotency-Key": "cap-quyen-ea-tu-1"}
    first = await client.post("/v1/grants", json=request, headers=keyed)
    retry = await client.post("/v1/grants", json=request, headers=keyed)
    assert first.status == retry.status == 201
    assert await first.json() == await retry.json()  # the same grant, the same code: nothing twice
    listed = await (await client.get("/v1/grants", headers=PLANNER)).json()
    assert len(listed["items"]) == 1


async def test_the_desk_grants_hands_over_with_a_qr_code_and_revokes(web, client):
    from tests.integration.test_web_pages import sign_in

    csrf = await sign_in(web, PLANNER)
    page = await web.get("/desk/grants")
    assert page.status == 200, await page.text()
    form = {"csrf": csrf, "name": "Loa xã Ea Tu", "operator": "Y Bơ Êban", "resources": EA_TU, "days": "30",
            "idempotency_key": "trang-cap-quyen-1"}  # fmt: skip
    handed = await web.post("/desk/grants", data=form)
    text = await handed.text()
    assert handed.status == 201, text
    assert 'src="data:image/png;base64,' in text and "/signin?token=" in text
    assert re.search(r'<strong class="code">[0-9A-Z]{4}-[0-9A-Z]{4}</strong>', text)
    [grant] = (await (await client.get("/v1/grants", headers=PLANNER)).json())["items"]
    assert (grant["name"], grant["resources"]) == ("Loa xã Ea Tu", [EA_TU])
    unknown = {"resources": "loudspeaker:xa-khong-co", "idempotency_key": "trang-cap-quyen-2"}
    refused = await web.post("/desk/grants", data=form | unknown)
    assert refused.status == 422 and "xa-khong-co" in await refused.text()
    revoke = {"csrf": csrf, "idempotency_key": "thu-hoi-1"}
    revoked = await web.post(f"/desk/grants/{grant['grant_id']}/revoke", data=revoke, allow_redirects=False)
    assert revoked.status == 303
    [after] = (await (await client.get("/v1/grants", headers=PLANNER)).json())["items"]
    assert after["revoked_at"] is not None
    assert "Đã thu hồi" in await (await web.get("/desk/grants")).text()


async def test_an_operator_signs_in_with_the_short_code_typed_on_the_sign_in_page(web, client):
    request = {"name": "Loa xã Ea Tu", "operator": "Y Bơ Êban", "resources": [EA_TU]}
    code = (await (await client.post("/v1/grants", json=request, headers=PLANNER)).json())["code"]
    wrong = await web.post("/signin", data={"token": "0000-000Z" if code != "0000-000Z" else "0000-0001"})
    assert wrong.status == 401
    signed = await web.post("/signin", data={"token": f"  {code.lower()} "})
    assert signed.status == 200, await signed.text()
    assert "/op/" in await signed.text()  # the operator's page, with the grant's token in its session
    assert (await web.get("/op/")).status == 200


async def test_guessing_codes_is_refused_after_ten_wrong_ones_per_address_for_ten_minutes(client):
    request = {"name": "Loa xã Ea Tu", "operator": "H'Hen Niê", "resources": [EA_TU], "days": 30}
    response = await client.post("/v1/grants", json=request, headers=PLANNER)
    assert response.status == 201, await response.text()
    code = (await response.json())["code"]
    wrong = [f"{i:04d}-{i:04d}" for i in range(20) if f"{i:04d}-{i:04d}" != code]
    guesser = {"X-Forwarded-For": "203.0.113.7"}  # as the web pages name the browser they serve
    for guess in wrong[:10]:
        assert (await client.post("/v1/grants/redeem", json={"code": guess}, headers=guesser)).status == 404
    refused = await client.post("/v1/grants/redeem", json={"code": wrong[10]}, headers=guesser)
    assert refused.status == 429, await refused.text()
    assert refused.content_type == "application/problem+json"
    problem = await refused.json()
    assert (problem["status"], problem["title"]) == (429, "Too many attempts")
    assert "203.0.113.7" in problem["detail"]
    assert 590 <= int(refused.headers["Retry-After"]) <= 600
    # Even the right code waits: the guesser learns nothing more from this address.
    right = await client.post("/v1/grants/redeem", json={"code": code}, headers=guesser)
    assert right.status == 429
    # Another browser is not locked out, and a right code never counts as a failure.
    other = {"X-Forwarded-For": "198.51.100.20"}
    for _ in range(12):
        assert (await client.post("/v1/grants/redeem", json={"code": code}, headers=other)).status == 200
