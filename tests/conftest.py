"""Shared pytest set-up: tests under tests/integration are marked, and the launcher's test servers."""

import os

import pytest

from services.devstack import Stack


@pytest.fixture(scope="session")
def test_servers() -> Stack:
    """The launcher's test servers (.loa/test, ports moved by LOA_TEST_PORT_OFFSET), started once for
    the session if needed; stopped at the end only if this session started them (and not with
    LOA_KEEP_TEST_STACK), so a second checkout's or a kept stack survives the run."""
    stack = Stack.for_tests()
    was_running = stack.postgres.running() and stack.rabbitmq.running()
    stack.up()
    yield stack
    if not was_running and not os.environ.get("LOA_KEEP_TEST_STACK"):
        stack.down()


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
