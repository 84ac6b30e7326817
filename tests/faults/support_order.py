"""What the ordering, backfill, replica and contention fault tests share.

A product of its own (database ``loa_faults_order``, RabbitMQ virtual host
``loa-faults-order``) on the test servers that the launcher starts, its services
run as processes as ``./loa up`` runs them, so that a test can start them late,
stop them and ``kill -9`` them. Test modules import the fixtures they use.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import uuid4

import aiohttp
import asyncpg
import pytest

from services.common.auth import issue
from services.common.settings import Settings
from services.devstack import Stack
from services.devstack.apps import App
from services.devstack.servers import free_port
from tests.faults.conftest import kill_hard
from tests.vhosts import fresh_place

DATABASE, VHOST = "loa_faults_order", "loa-faults-order"
SECRET = Settings().token_secret


def bearer(role: str, sub: str = "Trung tâm Truyền thông BHXH Đắk Lắk", **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue(SECRET, sub, role, **claims)}"}


PLANNER = bearer("planner")
VIEWER = bearer("viewer", sub="Bảng điều khiển")
COLLECTOR = bearer("collector", sub="Bộ thu số liệu")


def operator(resources: Iterable[str]) -> dict[str, str]:
    return bearer("operator", sub="Y Bơ Êban", resources=list(resources))


@pytest.fixture(scope="session")
def servers(test_servers: Stack) -> Stack:
    """The launcher's test servers (``tests/conftest.py``), shared with the integration tests."""
    return test_servers


@dataclass
class Product:
    """Loa on the test servers in its own database and virtual host; services as processes."""

    stack: Stack
    apps: dict[str, App] = field(default_factory=dict)

    @property
    def pg_dsn(self) -> str:
        return self.stack.pg_dsn

    def app(self, service: str, replica: int = 1) -> App:
        """``scheduler``/``metrics`` replica ``replica`` (made on first use, on a free port)."""
        name = service if replica == 1 else f"{service}-{replica}"
        if name not in self.apps:
            module = f"services.{service}"
            self.apps[name] = App(name, module, free_port(), self.stack.folder / self.stack.run_name)
        return self.apps[name]

    def env(self, app: App) -> dict[str, str]:
        service = app.module.rsplit(".", 1)[1]
        return {
            **self.stack.app_env(),
            f"LOA_{service.upper()}_PORT": str(app.port),
            "LOA_LOG_FORMAT": "json",
        }

    async def start(self, service: str, replica: int = 1) -> App:
        app = self.app(service, replica)
        await asyncio.to_thread(app.up, self.env(app))
        return app

    async def stop(self, service: str, replica: int = 1) -> None:
        await asyncio.to_thread(self.app(service, replica).down)

    def kill(self, service: str, replica: int = 1) -> None:
        """``kill -9``: no shutdown, no goodbye to the database or the broker."""
        kill_hard(self.app(service, replica))

    def down(self) -> None:
        """Stop every process, all at once (each may take a few seconds to finish its requests)."""
        with ThreadPoolExecutor(max(1, len(self.apps))) as pool:
            list(pool.map(App.down, self.apps.values()))

    async def sql(self, query: str, *args):
        conn = await asyncpg.connect(self.pg_dsn)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()


@pytest.fixture
async def product(servers):
    """A fresh, empty product (nothing started yet); every process it started is stopped after."""
    await fresh_place(servers, DATABASE, VHOST)
    shutil.rmtree(servers.folder / "faults-order", ignore_errors=True)
    stack = servers.product(
        database=DATABASE, vhost=VHOST, scheduler_port=0, metrics_port=0, run_name="faults-order"
    )
    instance = Product(stack)
    try:
        yield instance
    finally:
        await asyncio.to_thread(instance.down)


@pytest.fixture
async def http():
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session


# -- the scheduler's API, as a planner and an operator use it -----------------------------------
def commune_id(i: int) -> str:
    return f"loudspeaker:xa-thu-{i:03d}"


async def register_communes(http: aiohttp.ClientSession, scheduler: str, count: int) -> list[str]:
    ids = [commune_id(i) for i in range(count)]
    for i, resource_id in enumerate(ids):
        body = {
            "type": "commune",
            "name": f"Xã Thử Nghiệm {i}",
            "province": "dak-lak",
            "languages": ["Kinh", "Êđê"],
            "windows": [{"start": "05:30", "end": "06:30"}, {"start": "17:00", "end": "18:30"}],
        }
        async with http.put(f"{scheduler}/v1/resources/{resource_id}", json=body, headers=PLANNER) as r:
            assert r.status in (200, 201), await r.text()
    return ids


def slot(day: int) -> datetime:
    """Day ``day``'s evening bulletin in August 2023 (local time, already aired)."""
    return datetime(2023, 8, 1, 17, 30) + timedelta(days=day)


async def schedule(http, scheduler: str, resource_id: str, starts: datetime, key: str | None = None) -> str:
    body = {
        "kind": "loudspeaker",
        "resource_id": resource_id,
        "starts_at": starts.isoformat(timespec="minutes"),
        "duration_minutes": 15,
        "title": "Bản tin BHYT học sinh, sinh viên",
        "language": "Êđê",
    }
    headers = {**PLANNER, "Idempotency-Key": key or str(uuid4())}
    async with http.post(f"{scheduler}/v1/airings", json=body, headers=headers) as r:
        assert r.status in (200, 201), await r.text()
        return (await r.json())["airing_id"]


async def plan_across(http, scheduler: str, communes: list[str], per_commune: int) -> list[str]:
    """``per_commune`` evening bulletins (days 0, 1, …) in each commune, planned side by side."""

    def commune(c: str):
        return asyncio.gather(*(schedule(http, scheduler, c, slot(day)) for day in range(per_commune)))

    planned = await asyncio.gather(*(commune(c) for c in communes))
    return [airing for ids in planned for airing in ids]


async def eventually(check, timeout: float, what: str, interval: float = 0.25):
    """Poll ``await check()`` until it returns something true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


async def per_stream(product: Product, schema: str, prefix: str = "schedule-") -> dict[str, list]:
    """Each stream's event ids in the order of its versions, as ``schema``'s log holds them."""
    rows = await product.sql(
        f"select stream_id, event_id from {schema}.events where stream_id like $1 "
        "order by stream_id, stream_version",
        prefix + "%",
    )
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(r["stream_id"], []).append(r["event_id"])
    return out
