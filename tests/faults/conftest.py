"""The fault suite's harness: servers of its own, Loa's services as real processes, and ways to break them.

The suite kills RabbitMQ and restarts PostgreSQL, so it never uses the test
stack (other tests' servers): it starts its own pair under ``.loa/faults`` on
the test ports moved by ``FAULT_SHIFT`` (and ``LOA_TEST_PORT_OFFSET``), and
stops it at the end. Each test module gets a product of its own on them (a
fresh database and RabbitMQ virtual host, the scheduler and the metrics
service as processes, as ``./loa up`` runs them).

Fixtures: ``fault_stack`` (the servers, with :class:`Breaker` as
``fault_stack.breaker``) and ``product`` (:class:`Product`: the services, their
URLs, tokens, ``kill``/``start`` of a service, ``wait_ready``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from services.common.auth import issue
from services.devstack import Stack
from services.devstack.apps import App
from services.devstack.servers import account, port_open, postgres_bin, run
from tests.conftest import stop_at_the_end
from tests.vhosts import fresh_place

ROOT = Path(__file__).resolve().parents[2]
FAULT_SHIFT = 50
"""The fault servers' ports: the test servers' plus this (helpers' offsets are multiples of 100)."""
SECRET = "fault-suite-secret-0123456789"


def fault_stack_for() -> Stack:
    offset = int(os.environ.get("LOA_TEST_PORT_OFFSET", 0)) + FAULT_SHIFT
    return Stack.create(
        ROOT / ".loa" / "faults",
        pg_port=55433 + offset,
        amqp_port=56721 + offset,
        management_port=15691 + offset,
        dist_port=25691 + offset,
        epmd_port=44369 + offset,
    )


def kill_hard(app: App) -> None:
    """``kill -9`` of a service's process group: no shutdown, no flush, no goodbye to the database or
    the broker. The test process started it, so it reaps it: its pid is gone for good."""
    pid = app.pid()
    assert pid is not None, f"{app.name} does not run"
    os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    app.pid_file.unlink(missing_ok=True)


@dataclass
class Breaker:
    """Kills and restarts the fault stack's servers as an outage would."""

    stack: Stack

    def kill_rabbitmq(self) -> None:
        """``kill -9`` of the broker's Erlang VM (and its wrapper): no goodbye to any client."""
        pid = int((self.stack.rabbitmq.folder / "rabbitmq.pid").read_text())
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while port_open(self.stack.rabbitmq.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def start_rabbitmq(self) -> None:
        self.stack.rabbitmq.up()

    def restart_postgres(self) -> None:
        """``pg_ctl -m immediate restart``: every backend dies at once, as in a crash, then recovery."""
        postgres = self.stack.postgres
        result = run(
            [str(postgres_bin() / "pg_ctl"), "-D", str(postgres.data), "-m", "immediate", "-w", "-t", "60",
             "-l", str(postgres.folder / "postgres.log"), "restart"],
            account("postgres"),
            check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout


@pytest.fixture(scope="session")
def fault_stack(request):
    if os.environ.get("LOA_PG_DSN") and os.environ.get("LOA_AMQP_URL"):
        pytest.skip("the fault suite kills servers: it runs only on the ones it starts itself")
    stack = fault_stack_for()
    stack.up()
    stack.breaker = Breaker(stack)
    yield stack
    if not os.environ.get("LOA_KEEP_TEST_STACK"):
        stop_at_the_end(request.config, stack)


def bearer(role: str, sub: str, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue(SECRET, sub, role, **claims)}"}


PLANNER = bearer("planner", "Trung tâm Truyền thông BHXH Đắk Lắk", province="dak-lak")
COLLECTOR = bearer("collector", "Bộ thu số liệu mạng xã hội")
VIEWER = bearer("viewer", "Bảng điều khiển")


@dataclass
class Product:
    """One Loa on the fault stack: its services as processes, and what a test does to them."""

    instance: Stack
    breaker: Breaker
    env: dict[str, str]

    @property
    def scheduler(self) -> App:
        return self.instance.apps()[0]

    @property
    def metrics(self) -> App:
        return self.instance.apps()[1]

    @property
    def pg_dsn(self) -> str:
        return self.instance.pg_dsn

    @property
    def amqp_url(self) -> str:
        return self.instance.amqp_url

    def kill(self, app: App) -> None:
        """``kill -9`` of a service's process group: no shutdown, no flush, nothing said."""
        kill_hard(app)

    def start(self, app: App) -> None:
        app.up(self.env)

    def stop(self, app: App, timeout: float = 15.0) -> float:
        """SIGTERM, as ``./loa down`` does; the seconds the service took to stop (SIGKILL after
        ``timeout``). The test process started it, so it reaps it too."""
        pid = app.pid()
        if pid is None:
            return 0.0
        started = time.monotonic()
        os.killpg(pid, signal.SIGTERM)
        while time.monotonic() - started < timeout:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG) == (0, 0):
                    time.sleep(0.05)
                    continue
            break
        else:
            os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        app.pid_file.unlink(missing_ok=True)
        return time.monotonic() - started

    async def wait_ready(self, app: App, timeout: float = 15.0) -> float:
        """Seconds until ``app``'s /readyz answers 200; fails after ``timeout``."""
        started = time.monotonic()
        async with aiohttp.ClientSession() as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"{app.url}/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"{app.name} not ready after {timeout} s")
                await asyncio.sleep(0.1)

    async def fetchval(self, sql: str, *args):
        conn = await asyncpg.connect(self.pg_dsn)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()


@pytest.fixture(scope="module")
async def product(fault_stack, request):
    """The scheduler and the metrics service as processes, on a fresh database and virtual host."""
    from services.devstack.servers import free_port

    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    database, vhost = f"loa_f_{name}", f"loa-f-{name}"
    await fresh_place(fault_stack, database, vhost)
    instance = fault_stack.product(
        database=database,
        vhost=vhost,
        scheduler_port=free_port(),
        metrics_port=free_port(),
        run_name=f"run-{name}",
    )
    env = instance.app_env() | {"LOA_TOKEN_SECRET": SECRET, "LOA_LOG_FORMAT": "json"}
    for app in instance.apps():
        app.log_file.unlink(missing_ok=True)  # this run's log only
    made = Product(instance, fault_stack.breaker, env)
    try:
        # side by side: each waits for its own /healthz, and neither needs the other to start
        await asyncio.gather(*(asyncio.to_thread(app.up, env) for app in instance.apps()))
        yield made
    finally:
        for app in instance.apps():
            made.stop(app)


def pytest_collection_modifyitems(items):
    for item in items:
        if "/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.faults)
