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
