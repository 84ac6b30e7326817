"""What every benchmark shares: the result record, timing, medians, the printed table, deadlines
for every wait, and the place each suite runs in (its own database and RabbitMQ virtual host)."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from typing import TypeVar
from urllib.parse import quote

T = TypeVar("T")


@dataclass
class Result:
    """One figure measured side by side: Loa, the raw ceiling, the peer (None when not measured).

    ``failed`` holds why a figure could not be measured (a wait past its deadline, a service that
    did not come up); its numbers are then NaN and written as null."""

    name: str
    unit: str
    loa: float
    raw: float | None = None
    peer: float | None = None
    note: str = ""
    failed: str | None = field(default=None, kw_only=True)

    def record(self) -> dict:
        out = asdict(self)
        measured = not math.isnan(self.loa)
        out["loa"] = self.loa if measured else None
        out["loa_over_raw"] = round(self.loa / self.raw, 3) if measured and self.raw else None
        out["loa_over_peer"] = round(self.loa / self.peer, 3) if measured and self.peer else None
        if not self.failed:
            del out["failed"]
        return out


def not_measured(name: str, why: str) -> Result:
    """The row of a figure (or a suite) that failed: the run goes on and names it."""
    return Result(name, "", math.nan, failed=why)


class FigureFailed(RuntimeError):
    """A figure could not be measured; the message says what was awaited and for how long."""


@asynccontextmanager
async def deadline(seconds: float, what: str) -> AsyncIterator[None]:
    """Everything in the block within ``seconds``, else :class:`FigureFailed` naming ``what``.

    Every wait in the bench runs under one: a wait that never ends (a service that takes messages
    meant for another, a read model that stopped) fails its figure with a message, not the run."""
    timeout = asyncio.timeout(seconds)
    try:
        async with timeout:
            yield
    except TimeoutError:
        if not timeout.expired():  # an inner wait's own timeout: not this deadline's
            raise
        raise FigureFailed(f"{what}: not within {seconds:g} s") from None


async def within(seconds: float, what: str, awaitable: Awaitable[T]) -> T:
    """``await awaitable`` under a :func:`deadline` (one line at a call site)."""
    async with deadline(seconds, what):
        return await awaitable


def median(values: list[float]) -> float:
    return statistics.median(values)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def table(results: list[Result]) -> str:
    head = f"{'benchmark':44} {'unit':10} {'loa':>10} {'raw':>10} {'peer':>10} {'loa/raw':>8} {'loa/peer':>8}"
    lines = [head, "-" * len(head)]

    def fmt(v):
        if v is None:
            return f"{'-':>10}"
        return f"{v:>10,.2f}" if v < 100 else f"{v:>10,.0f}"

    def ratio(a, b):
        return f"{a / b:>8.2f}" if b else f"{'-':>8}"

    for r in results:
        if r.failed:
            lines.append(f"{r.name:44} FAILED: {r.failed}")
            continue
        lines.append(
            f"{r.name:44} {r.unit:10} {fmt(r.loa)} {fmt(r.raw)} {fmt(r.peer)} "
            f"{ratio(r.loa, r.raw)} {ratio(r.loa, r.peer)}"
        )
    return "\n".join(lines)


# --- where a suite runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where one suite runs: its PostgreSQL database and its RabbitMQ virtual host (admin URL)."""

    dsn: str
    amqp_url: str


class Broker:
    """The launcher's RabbitMQ seen through its management API: virtual hosts made and removed."""

    def __init__(self, amqp_url: str, management_url: str, admin: tuple[str, str] = ("loa", "loa")) -> None:
        self.amqp_url = amqp_url.rstrip("/") + "/"
        self.management_url = management_url
        self.api = management_url.rstrip("/") + "/api/"
        self.login = "Basic " + base64.b64encode(":".join(admin).encode()).decode()

    def _call(self, method: str, path: str, body: dict | None = None) -> None:
        request = urllib.request.Request(
            self.api + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", "Authorization": self.login},
        )
        try:
            with urllib.request.urlopen(request, timeout=30):
                pass
        except urllib.error.HTTPError as error:
            if not (method == "DELETE" and error.code == 404):
                raise

    def fresh_vhost(self, vhost: str) -> str:
        """``vhost`` made empty (deleted and made again) with the services' own broker users on it,
        as ``./loa up`` runs them; answers the administrator's URL of it."""
        from services.devstack import broker_users

        v = quote(vhost, safe="")
        self._call("DELETE", f"vhosts/{v}")
        self._call("PUT", f"vhosts/{v}")
        self._call("PUT", f"permissions/{v}/loa", {"configure": ".*", "write": ".*", "read": ".*"})
        broker_users.ensure(self.management_url, vhost)
        return self.amqp_url + v

    def drop_vhost(self, vhost: str) -> None:
        self._call("DELETE", f"vhosts/{quote(vhost, safe='')}")


async def _admin(dsn: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` for the block: the suites' subprocesses inherit them."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def isolated(
    suite: str, *, server_dsn: str | None, broker: Broker | None, keep: bool = False
) -> Iterator[Place]:
    """A database ``loa_bench_<suite>`` and a virtual host ``loa-bench-<suite>`` made for the suite and
    dropped after it (``keep`` leaves them for a look), so that nothing of ``./loa up`` (its metrics
    service, its queues, its data) takes part in a measurement, and no suite sees another's leftovers.

    ``server_dsn`` is any database on the server where the suite's database is made; ``None``: the
    caller's ``LOA_PG_DSN`` / ``--dsn`` is used as it is. ``broker`` None: ``LOA_AMQP_URL`` as it is.
    The suite's services inherit ``LOA_PG_DSN``, ``LOA_AMQP_URL`` and each service's own broker user
    (``LOA_SCHEDULER_AMQP_URL``, ``LOA_METRICS_AMQP_URL``) from the environment set here."""
    from services.devstack import broker_users

    database, vhost = f"loa_bench_{suite}", f"loa-bench-{suite}"
    if server_dsn:
        asyncio.run(_admin(server_dsn, f"drop database if exists {database} with (force)",
                           f"create database {database}"))  # fmt: skip
        dsn = server_dsn.rsplit("/", 1)[0] + f"/{database}"
    else:
        dsn = os.environ["LOA_PG_DSN"]
    amqp_url = broker.fresh_vhost(vhost) if broker else os.environ.get("LOA_AMQP_URL", "")
    env = {"LOA_PG_DSN": dsn, "LOA_AMQP_URL": amqp_url}
    if broker:
        env |= broker_users.service_env(amqp_url)
    try:
        with environment(env):
            yield Place(dsn, amqp_url)
    finally:
        if not keep:
            if server_dsn:
                asyncio.run(_admin(server_dsn, f"drop database if exists {database} with (force)"))
            if broker:
                broker.drop_vhost(vhost)
