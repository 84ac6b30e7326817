"""What a session shows comes from the token's claims (the API checks the signature); CSRF tokens are
bound to the session."""

import base64

import orjson

from services.common.auth import issue
from services.web.csrf import token_for
from services.web.sessions import claims_of, session_of


def test_loa_tokens_and_jwts_are_both_read():
    loa = issue("a-secret-of-16-chars", "Y Bơ Êban", "operator", resources=["loudspeaker:xa-ea-tu"])
    session = session_of(loa)
    assert (session.role, session.sub, session.resources) == (
        "operator",
        "Y Bơ Êban",
        ("loudspeaker:xa-ea-tu",),
    )
    assert session.may_confirm and not session.may_plan
    body = base64.urlsafe_b64encode(orjson.dumps({"sub": "TT", "role": "planner", "province": "dak-lak"}))
    jwt = "eyJhbGciOiJIUzI1NiJ9." + body.decode().rstrip("=") + ".c2ln"
    assert session_of(jwt).province == "dak-lak" and session_of(jwt).may_plan


def test_garbage_opens_no_session():
    for token in (None, "", "abc", "a.b.c.d", "!!!.sig", "x" * 9000):
        assert session_of(token) is None
    assert claims_of(base64.urlsafe_b64encode(b"[1, 2]").decode() + ".sig") is None


def test_csrf_tokens_differ_per_session_and_per_key():
    assert token_for("k", "session-a") == token_for("k", "session-a")
    assert token_for("k", "session-a") != token_for("k", "session-b")
    assert token_for("k", "session-a") != token_for("other", "session-a")
