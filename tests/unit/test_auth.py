"""Tokens, scopes, key rotation, redaction and settings: pure, no servers."""

import logging
import time

import jwt
import pytest

from services.common.auth import (
    API,
    DEV_SECRET,
    FEED,
    InvalidToken,
    Keyring,
    Principal,
    issue,
    issue_link,
    verify,
)
from services.common.idempotency import canonical
from services.common.logging import RedactTokens, redact, redact_event
from services.common.settings import InsecureSettings, Settings

SECRET = "unit-secret-0123456789abcdef0123456789"


def forged(algorithm="HS256", **changes):
    claims = {"iss": "loa", "aud": API, "sub": "x", "iat": 0, "exp": 2**40, "jti": "j", "role": "viewer"}
    claims = {k: v for k, v in (claims | changes).items() if v is not None}
    return jwt.encode(claims, SECRET, algorithm=algorithm, headers={"kid": "k1"})


def test_a_token_is_a_standard_jwt_with_a_key_id():
    token = issue(SECRET, "Y Bơ Êban", "operator", resources=["loudspeaker:xa-ea-tu"], jti="j-1")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "k1", "typ": "JWT"}
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=API)
    assert {"iss", "aud", "sub", "iat", "exp", "jti"} <= claims.keys()
    assert claims["sub"] == "Y Bơ Êban" and claims["jti"] == "j-1"
    who = verify(SECRET, token)
    assert who == Principal("Y Bơ Êban", "operator", None, frozenset({"loudspeaker:xa-ea-tu"}), "j-1")


@pytest.mark.parametrize(
    "token, reason",
    [
        ("abc.def", "malformed token"),
        (issue(Keyring.of(SECRET, "k9"), "x", "viewer"), "unknown signing key"),
        (issue(Keyring.of("another-secret-0123456789abcdef", "k1"), "x", "viewer"), "invalid token"),
        (issue(SECRET, "x", "viewer", now=time.time() - 10, ttl_seconds=5), "token expired"),
        (issue(SECRET, "x", "viewer", jti="gone"), "token revoked"),
        (issue_link(SECRET, "/dashboard"), "a link token only reads its feed"),
        (forged(iss="other"), "invalid token"),
        (forged(jti=None), "invalid token"),  # no jti: it could never be revoked
        (forged(role="root"), "unknown role"),
        (forged(algorithm="HS512"), "invalid token"),
    ],
)  # fmt: skip
def test_bad_tokens_are_refused_with_the_reason(token, reason):
    with pytest.raises(InvalidToken) as refused:
        verify(SECRET, token, revoked={"gone"})
    assert str(refused.value).startswith(reason)


def test_old_keys_verify_until_dropped():
    old = issue(Keyring.of("old-secret-0123456789abcdef", "k1"), "x", "viewer")
    rotated = Keyring.of(SECRET, "k2", {"k1": "old-secret-0123456789abcdef"})
    assert verify(rotated, old).role == "viewer"
    assert jwt.get_unverified_header(issue(rotated, "x", "viewer"))["kid"] == "k2"
    with pytest.raises(InvalidToken):
        verify(Keyring.of(SECRET, "k2"), old)


def test_a_link_token_reads_one_feed_and_never_writes():
    calendar = "/v1/resources/loudspeaker:xa-ea-tu/calendar.ics"
    link = verify(SECRET, issue_link(SECRET, calendar), links=True)
    claims = jwt.decode(issue_link(SECRET, calendar), SECRET, algorithms=["HS256"], audience=FEED)
    assert claims["scope"] == calendar
    assert link.may_read("GET", calendar) and not link.may_read("GET", "/v1/airings")
    assert not link.may_read("POST", calendar)
    assert not link.may_plan and not link.may_operate("loudspeaker:xa-ea-tu", "dak-lak")
    assert not link.may_collect_somewhere
    dashboard = verify(SECRET, issue_link(SECRET, "/dashboard"), links=True)
    assert dashboard.may_read("GET", "/v1/stats") and dashboard.may_read("GET", "/v1/airings/x/metrics")
    assert not dashboard.may_read("GET", "/v1/reports/monthly") and not dashboard.may_read("GET", calendar)


def test_scopes():
    national = Principal("TW", "planner")
    lao_cai = Principal("Lào Cai", "planner", province="lao-cai")
    operator = Principal("Y Bơ", "operator", resources=frozenset({"loudspeaker:xa-ea-tu"}))
    pages = Principal("FB", "collector", resources=frozenset({"page:facebook:a"}))
    province_collector = Principal("QT", "collector", province="quang-tri")
    assert national.may_operate("anything", "quang-tri")
    assert lao_cai.may_operate("x", "lao-cai") and not lao_cai.may_operate("x", "quang-tri")
    assert operator.may_operate("loudspeaker:xa-ea-tu", None)
    assert not operator.may_operate("loudspeaker:b", None)
    assert pages.may_collect("page:facebook:a", "dak-lak")
    assert not pages.may_collect("page:facebook:b", "dak-lak")
    assert province_collector.may_collect("p", "quang-tri")
    assert not province_collector.may_collect("p", "dak-lak")
    assert not lao_cai.may_collect("p", "quang-tri") and not operator.may_collect("p", None)
    assert not pages.may_read("GET", "/v1/stats") and Principal("V", "viewer").may_read("GET", "/v1/stats")


def test_tokens_never_reach_a_log_line():
    line = 'GET /v1/stream?campaign_id=c&token=eyJhbGciOi.x_y-z HTTP/1.1" 200 "Bearer eyJ.a.b" x'
    assert redact(line) == 'GET /v1/stream?campaign_id=c&token=… HTTP/1.1" 200 "Bearer …" x'
    args = ("GET", "/dashboard?token=s")
    record = logging.LogRecord("aiohttp.access", logging.INFO, "", 0, "%s %s", args, None)
    RedactTokens().filter(record)
    assert record.getMessage() == "GET /dashboard?token=…"


def test_structlog_lines_lose_their_tokens():
    event = {"event": "request failed", "path": "/v1/stream?token=abc", "header": "Bearer abc.def", "n": 3}
    assert redact_event(None, "info", event) == {
        "event": "request failed",
        "path": "/v1/stream?token=…",
        "header": "Bearer …",
        "n": 3,
    }


def test_bodies_compare_canonically():
    assert canonical(b'{"b": 1,\n "a": [1, 2]}') == canonical(b'{"a":[1,2],"b":1}')
    assert canonical(b"not json") == b"not json"


def test_the_development_key_is_refused_outside_a_development_stack():
    with pytest.raises(InsecureSettings):
        Settings(dev=False).check_for_service()
    Settings(dev=True).check_for_service()
    Settings(token_secret=SECRET, dev=False).check_for_service()
    with pytest.raises(InsecureSettings):
        Settings(token_secret=SECRET, token_old_keys={"k0": DEV_SECRET}).check_for_service()
