"""Shared pytest set-up: tests under tests/integration are marked, and the launcher's test servers."""

import os
import threading

import pytest

from services.devstack import Stack


@pytest.fixture(scope="session")
def test_servers(request) -> Stack:
    """The launcher's test servers (.loa/test, ports moved by LOA_TEST_PORT_OFFSET), started once for
    the session if needed; stopped at the end only if this session started them (and not with
    LOA_KEEP_TEST_STACK), so a second checkout's or a kept stack survives the run."""
    stack = Stack.for_tests()
    was_running = stack.postgres.running() and stack.rabbitmq.running()
    if not was_running:
        stack.up()
    yield stack
    if not was_running and not os.environ.get("LOA_KEEP_TEST_STACK"):
        stop_at_the_end(request.config, stack)


STOPPING = pytest.StashKey[list[threading.Thread]]()


def stop_at_the_end(config: pytest.Config, stack: Stack) -> None:
    """Stop ``stack``'s servers in the background; the session waits for all of them at its very end,
    so the test servers and the fault suite's stop side by side (RabbitMQ takes ~7 s to stop)."""
    thread = threading.Thread(target=stack.down, name=f"stopping {stack.folder}")
    thread.start()
    config.stash.setdefault(STOPPING, []).append(thread)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for thread in session.config.stash.get(STOPPING, []):
        thread.join()


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
