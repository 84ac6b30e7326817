"""A token's signature is checked once; the principal is kept until the token expires, and a
revocation still refuses it at once."""

import time

from services.common.auth import Keyring, issue, verify
from services.common.web import VerifiedTokens

KEYS = Keyring.of("unit-secret-0123456789abcdef0123456789")


def test_a_verified_token_is_remembered_until_it_expires():
    tokens = VerifiedTokens()
    token = issue(KEYS, "Trung tâm Truyền thông Đắk Lắk", "planner", province="dak-lak")
    who = verify(KEYS, token)
    assert tokens.get(KEYS, token) is None
    tokens.add(KEYS, token, who)
    assert tokens.get(KEYS, token) == who
    assert tokens.get(Keyring.of("another-secret-0123456789abcdef0123"), token) is None  # another keyring
    expired = issue(KEYS, "Ông Y Khu Niê", "operator", ttl_seconds=1, now=time.time() - 10)
    tokens.add(KEYS, expired, who)
    assert tokens.get(KEYS, expired) is None


def test_the_memory_is_bounded():
    tokens = VerifiedTokens(size=2)
    issued = [issue(KEYS, f"người {i}", "viewer") for i in range(3)]
    for token in issued:
        tokens.add(KEYS, token, verify(KEYS, token))
    assert tokens.get(KEYS, issued[0]) is None and tokens.get(KEYS, issued[2]) is not None
