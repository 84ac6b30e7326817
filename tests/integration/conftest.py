"""Real PostgreSQL and RabbitMQ, started once per test session by the launcher.

Set LOA_PG_DSN and LOA_AMQP_URL to use servers of your own instead.
"""

from __future__ import annotations

import os

import pytest

from services.devstack import Stack

TEST_DATABASE = "loa_test"


@pytest.fixture(scope="session")
def stack(request) -> Stack | None:
    """The test stack (``test_servers`` in tests/conftest.py) with the database ``loa_test``;
    None when LOA_PG_DSN and LOA_AMQP_URL name servers of one's own (nothing is started then)."""
    if os.environ.get("LOA_PG_DSN") and os.environ.get("LOA_AMQP_URL"):
        return None
    stack = request.getfixturevalue("test_servers")
    stack.postgres.create_database(TEST_DATABASE)
    return stack


@pytest.fixture(scope="session")
def pg_dsn(stack) -> str:
    if stack is None:
        return os.environ["LOA_PG_DSN"]
    return stack.pg_dsn.rsplit("/", 1)[0] + f"/{TEST_DATABASE}"


@pytest.fixture(scope="session")
def amqp_url(stack) -> str:
    return os.environ["LOA_AMQP_URL"] if stack is None else stack.amqp_url


@pytest.fixture(scope="module")
async def pool(pg_dsn):
    """A pool with the event store's codecs; modules with special needs define their own."""
    from services.eventstore.postgres import create_pool

    pool = await create_pool(pg_dsn, min_size=2, max_size=20)
    yield pool
    await pool.close()
