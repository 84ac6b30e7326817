"""Grants of operators' access: codes typed by hand, a grant's history, its token."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from contracts.events.access import AccessGranted, GrantRevoked, TokenRevoked
from services.common.auth import issue_grant, verify
from services.scheduler.domain.errors import InvalidCommand
from services.scheduler.domain.grants import (
    code_digest,
    decide_grant,
    decide_revoke,
    fold_grants,
    make_code,
    normalise_code,
)
from services.scheduler.domain.redeem_limits import FAILURES, WINDOW, retry_after

NOW = datetime.now(UTC).replace(microsecond=0)  # the token test verifies against the clock
SECRET = "unit-secret-0123456789"


def granted(**kw) -> AccessGranted:
    fields = dict(grant_id=uuid4(), name="Loa truyền thanh xã Ea Tu", operator="Y Bơ Êban",
                  province="dak-lak", resources=["loudspeaker:xa-ea-tu"], granted_by="TT Đắk Lắk",
                  granted_at=NOW,
                  expires_at=NOW + timedelta(days=30), code_digest=code_digest("7KQ4-M2XD"))  # fmt: skip
    return AccessGranted(**(fields | kw))


def test_a_code_is_eight_unambiguous_symbols_and_reads_back_however_it_is_typed():
    code = make_code(bytes([0xFF, 0x00, 0xAB, 0x12, 0x7E]))
    assert len(code) == 9 and code[4] == "-" and not set(code) & set("ILOU")
    assert make_code(bytes(5)) == "0000-0000"
    assert normalise_code(code.lower().replace("-", " ")) == code.replace("-", "")
    assert normalise_code("7kq4-m2xd") == normalise_code("7KQ4M2XD")
    assert code_digest("oooo-iiii") == code_digest("0000-1111")  # O read as 0, I as 1
    for bad in ("7KQ4", "7KQ4-M2XD-9", "7KQ4-M2X!", "Đắk-Lắk1"):
        with pytest.raises(InvalidCommand) as err:
            normalise_code(bad)
        assert err.value.field == "code"


def test_a_grant_is_recorded_once_and_revoked_with_its_token():
    grant = granted()
    assert decide_grant([], grant) == [grant]
    assert decide_grant([grant], grant.model_copy(update={"granted_at": NOW + timedelta(seconds=3)})) == []
    with pytest.raises(InvalidCommand):
        decide_grant([grant], grant.model_copy(update={"resources": ["loudspeaker:xa-hoa-thang"]}))
    revoked = GrantRevoked(
        grant_id=grant.grant_id, revoked_by="TT Đắk Lắk", reason="đổi người", revoked_at=NOW
    )
    events = decide_revoke([grant], revoked)
    assert events[0] == revoked
    assert isinstance(events[1], TokenRevoked) and events[1].jti == str(grant.grant_id)
    assert decide_revoke([grant, *events], revoked) == []
    state = fold_grants([grant, *events])[grant.grant_id]
    assert state.revoked == revoked and not state.usable(NOW)
    assert fold_grants([grant])[grant.grant_id].usable(NOW)
    assert not fold_grants([grant])[grant.grant_id].usable(grant.expires_at)


def test_a_grants_token_names_the_grant_and_is_the_same_every_time():
    grant = granted()
    token = issue_grant(SECRET, grant)
    assert issue_grant(SECRET, grant) == token
    who = verify(SECRET, token)
    assert (who.jti, who.role, who.sub, who.resources) == (
        str(grant.grant_id),
        "operator",
        "Y Bơ Êban",
        frozenset({"loudspeaker:xa-ea-tu"}),
    )
    assert who.may_operate("loudspeaker:xa-ea-tu", "dak-lak")
    assert not who.may_operate("loudspeaker:xa-hoa-thang", "dak-lak")


def test_ten_wrong_codes_in_ten_minutes_make_the_next_attempt_wait_for_the_oldest_to_expire():
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    failures = [now - timedelta(minutes=9, seconds=30) + timedelta(seconds=i) for i in range(FAILURES)]
    assert FAILURES == 10 and WINDOW == timedelta(minutes=10)
    assert retry_after(failures[:-1], now) is None  # nine: one more may be tried
    assert retry_after(failures, now) == 30  # the oldest leaves the window in 30 s
    assert retry_after(failures, now + timedelta(seconds=30)) is None
    # Failures older than the window do not count, however many.
    assert retry_after([now - WINDOW - timedelta(seconds=i) for i in range(100)], now) is None
    # A burst: the wait is never below one second.
    assert retry_after([now] * 20, now + WINDOW - timedelta(milliseconds=1)) == 1


class _Peer:
    """A connection from ``address``, as aiohttp's transport tells it."""

    def __init__(self, address: str) -> None:
        self.address = address

    def get_extra_info(self, name: str, default=None):
        return (self.address, 40000) if name == "peername" else default


@pytest.mark.parametrize(
    ("peer", "forwarded", "counted"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # the web pages, naming the browser they serve
        ("10.0.3.4", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the last hop is the one we trust
        ("14.160.32.9", "203.0.113.7", "14.160.32.9"),  # a public client cannot pose as another
        ("127.0.0.1", "không phải địa chỉ", "127.0.0.1"),
        ("127.0.0.1", None, "127.0.0.1"),
    ],
)
def test_guesses_are_counted_per_browser_behind_the_web_pages_never_per_forged_address(
    peer, forwarded, counted
):
    from aiohttp.test_utils import make_mocked_request

    from services.scheduler.entrypoints.http.grants import client_address

    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    request = make_mocked_request("POST", "/v1/grants/redeem", headers=headers, transport=_Peer(peer))
    assert client_address(request) == counted
