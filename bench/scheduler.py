"""Scheduler benchmarks over HTTP, against the running service (a subprocess, as in production).

- bulk plan: 129 communes x 3 languages x Mon/Wed/Fri for a month (5,031 airings) in one request;
- national fan-out: 3,321 communes x 2 airings a day x 30 days (199,260 airings) in one request,
  with the service's peak memory;
- single schedule requests at 200 req/s (open loop): p50/p99 latency;
- single schedule requests from 32 clients (closed loop) on one replica, then on two replicas
  on the same database and broker: throughput and p99, side by side in one run.

Raw ceilings measured in the same run: COPY of as many rows into a plain table
(bulk), and an aiohttp + asyncpg endpoint doing one INSERT per request (latency).
No peer: there is no open scheduling service to set beside it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta

import aiohttp
import asyncpg

from bench.harness import Result, Timer, median, within
from services.common.auth import issue
from services.devstack.servers import free_port

SECRET = "bench-secret-0123456789-0123456789-abcdef"
PLANNER = {"Authorization": f"Bearer {issue(SECRET, 'bench planner', 'planner')}"}
LANGUAGES = ["Kinh", "Êđê", "M'nông"]
WINDOWS = [{"start": "05:30", "end": "06:30"}, {"start": "17:00", "end": "18:30"}]


def amqp_url() -> str:
    if os.environ.get("LOA_AMQP_URL"):
        return os.environ["LOA_AMQP_URL"]
    from services.devstack import Stack

    stack = Stack.for_dev()
    stack.rabbitmq.up()
    return stack.amqp_url


VHOST = "loa-bench"


def bench_vhost() -> str:
    """A fresh virtual host on the launcher's broker, so that no metrics service of ``./loa up`` takes
    the bench's events, and none of them stays behind for it (the relay declares the metrics queue)."""
    from services.devstack import Stack

    url = amqp_url()
    if os.environ.get("LOA_AMQP_URL"):
        return url  # someone else's broker: use it as given
    rabbit = Stack.for_dev().rabbitmq
    rabbit.ctl("delete_vhost", VHOST)
    rabbit.ctl("add_vhost", VHOST, check=True)
    rabbit.ctl("set_permissions", "-p", VHOST, "loa", ".*", ".*", ".*", check=True)
    return url + VHOST


def rss_mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def _start(args: list[str], env: dict[str, str], log: str) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def _tail(log: str) -> str:
    with open(log, errors="replace") as f:
        return f.read()[-2000:]


@asynccontextmanager
async def process(args: list[str], env: dict[str, str], port: int, log: str | None = None):
    """Run a service as a subprocess until the block ends; its output goes to ``log``."""
    log = log or os.path.join(tempfile.gettempdir(), f"loa-bench-{args[-1].replace('/', '_')}.log")
    proc = _start(args, env, log)
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{args} exited: {_tail(log)}")
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{args} did not come up")
                await asyncio.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


async def register_communes(session, base: str, count: int, languages: list[str], prefix: str) -> list[str]:
    ids = [f"loudspeaker:{prefix}-{i:04}" for i in range(count)]
    semaphore = asyncio.Semaphore(16)

    async def one(i: int, resource_id: str) -> None:
        body = {"type": "commune", "name": f"Xã {prefix} {i}", "province": prefix, "code": f"{i:05}",
                "languages": languages, "windows": WINDOWS}  # fmt: skip
        async with (
            semaphore,
            session.put(f"{base}/v1/resources/{resource_id}", json=body, headers=PLANNER) as r,
        ):
            if r.status not in (200, 201):
                raise RuntimeError(await r.text())

    await asyncio.gather(*(one(i, rid) for i, rid in enumerate(ids)))
    return ids


async def fan_out(session, base: str, body: dict) -> tuple[float, dict]:
    with Timer() as t:
        async with session.post(f"{base}/v1/fan-outs", json=body, headers=PLANNER) as r:
            result = await r.json()
            if r.status != 201:
                raise RuntimeError(result)
    return t.seconds, result


async def until_listed(session, base: str, start: str, end: str, total: int) -> float:
    """Seconds until the read model lists ``total`` airings starting in [start, end)."""
    with Timer() as t:
        while True:
            params = {"from": start, "to": end, "limit": "1", "total": "true"}
            async with session.get(f"{base}/v1/airings", params=params, headers=PLANNER) as r:
                if (await r.json())["total"] >= total:
                    break
            await asyncio.sleep(0.1)
    return t.seconds


async def until_idle(dsn: str, schema: str = "scheduler") -> float:
    """Seconds until the service's relay and read model have caught up with its log.

    The latency run must not overlap the publishing of the fan-outs before it.
    """
    conn = await asyncpg.connect(dsn)
    try:
        with Timer() as t:
            while True:
                behind = await conn.fetchval(
                    f"""select count(*) from {schema}.checkpoints
                        where position < (select coalesce(max(global_position), 0) from {schema}.events)"""
                )
                if not behind:
                    break
                await asyncio.sleep(0.2)
        return t.seconds
    finally:
        await conn.close()


async def raw_copy(dsn: str, rows: int) -> float:
    """The ceiling for a bulk plan: COPY as many event-sized rows into a plain table."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("drop table if exists bench_raw_airings")
        await conn.execute("create table bench_raw_airings (id uuid primary key, stream text, data text)")
        payload = '{"title": "Bản tin BHYT học sinh, sinh viên", "language": "Êđê"}' * 4
        records = [(uuid.uuid4(), f"schedule-loudspeaker:{i % 3321}", payload) for i in range(rows)]
        with Timer() as t:
            async with conn.transaction():
                await conn.copy_records_to_table("bench_raw_airings", records=records)
        return t.seconds
    finally:
        await conn.execute("drop table if exists bench_raw_airings")
        await conn.close()


async def paced(
    session,
    url: str | Callable[[dict], tuple[str, dict]],
    bodies,
    rate: float,
    seconds: float,
    headers: dict,
    ok: int = 201,
) -> list[float]:
    """Open-loop load: a request every 1/rate s, latency counted from when it was due.

    Counting from the due time, not the send time, keeps a stalled server from hiding its queue.
    ``url`` may name each request's own address: called with the next item, it gives (url, body).
    """
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    total = int(rate * seconds)

    async def one(due: float, item: dict) -> None:
        target, body = url(item) if callable(url) else (url, item)
        async with session.post(target, json=body, headers=headers) as r:
            await r.read()
            if r.status != ok:
                errors.append(f"{r.status}: {(await r.text())[:200]}")
        latencies.append(time.perf_counter() - due)

    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, next(bodies))))
    await asyncio.gather(*tasks)
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return latencies


async def closed_loop(
    session, bases: list[str], bodies, clients: int, seconds: float
) -> tuple[float, list[float]]:
    """``clients`` clients, each sending its next request when the last is answered, spread over
    ``bases`` (replicas) in turn; (answered requests per second, latencies)."""
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    turn = iter(range(1 << 62))

    async def client() -> None:
        while time.perf_counter() < deadline:
            base = bases[next(turn) % len(bases)]
            sent = time.perf_counter()
            async with session.post(f"{base}/v1/airings", json=next(bodies), headers=PLANNER) as r:
                await r.read()
                if r.status != 201:
                    errors.append(f"{r.status}: {(await r.text())[:200]}")
            latencies.append(time.perf_counter() - sent)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return len(latencies) / (time.perf_counter() - start), latencies


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def airing_bodies(resources: list[str]):
    """Endless single-airing bodies, each in a free 20-minute slot of one of ``resources`` in turn."""
    day, i = datetime(2026, 1, 1, 5, 0), 0
    while True:
        slot = day + timedelta(minutes=20 * (i // len(resources)))
        yield {"kind": "loudspeaker", "resource_id": resources[i % len(resources)],
               "starts_at": slot.isoformat(), "duration_minutes": 15,
               "title": "Bản tin BHXH tự nguyện", "language": "Kinh"}  # fmt: skip
        i += 1


async def paced_with_cpu(
    session, url, bodies, rate: float, seconds: float, headers: dict, pid: int, ok: int = 201
):
    """:func:`paced`, and the CPU time the process ``pid`` spent per request meanwhile (seconds)."""
    before = cpu_seconds(pid)
    latencies = await paced(session, url, bodies, rate, seconds, headers, ok)
    return latencies, (cpu_seconds(pid) - before) / len(latencies)


async def raw_singles(dsn: str, rate: float, seconds: float) -> tuple[list[float], float]:
    """The raw aiohttp + asyncpg endpoint under the same open-loop load: latencies and CPU per request."""
    raw_port = free_port()
    timeout = aiohttp.ClientTimeout(total=600)
    async with (
        process(["-m", "bench.raw_http", "--dsn", dsn, "--port", str(raw_port)], {}, raw_port) as raw,
        aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=64)) as session,
    ):
        bodies = airing_bodies([f"raw:{i}" for i in range(500)])
        url = f"http://127.0.0.1:{raw_port}/insert"
        await paced(session, url, bodies, rate, 1, {})
        return await paced_with_cpu(session, url, bodies, rate, seconds, {}, raw.pid)


def single_results(
    rate: float,
    seconds: float,
    loa,
    loa_cpu: float,
    raw,
    raw_cpu: float,
    what: str = "schedule request",
    p50_target: str = "; target p50 <= 2 x raw",
) -> list[Result]:
    results = [
        Result(
            f"{what} at {rate:.0f} req/s, {name}",
            "ms",
            percentile(loa, p) * 1000,
            raw=percentile(raw, p) * 1000,
            note=f"{len(loa):,} requests over {seconds:g} s, open loop; lower is better"
            + ("; target p99 <= 3 x raw" if name == "p99" else p50_target),
        )
        for name, p in (("p50", 0.5), ("p99", 0.99))
    ]
    results.append(
        Result(
            f"{what} at {rate:.0f} req/s, CPU per request",
            "ms",
            loa_cpu * 1000,
            raw=raw_cpu * 1000,
            note="the service process's user + system time over the run / requests (its relay included)",
        )
    )
    return results


async def fresh_scheduler(dsn: str) -> tuple[int, dict[str, str]]:
    """An empty scheduler schema and raw table, a free port and the service's environment."""
    conn = await asyncpg.connect(dsn)
    await conn.execute("drop schema if exists scheduler cascade")
    await conn.execute("drop table if exists bench_raw_http")
    await conn.close()
    port = free_port()
    env = {
        "LOA_PG_DSN": dsn,
        "LOA_AMQP_URL": await asyncio.to_thread(bench_vhost),
        "LOA_SCHEDULER_PORT": str(port),
        "LOA_TOKEN_SECRET": SECRET,
        "LOA_LOG_LEVEL": "warning",
        "LOA_LOG_FORMAT": "json",
    }
    return port, env


async def singles(dsn: str, seconds: float = 30, rate: float = 200.0) -> list[Result]:
    """Only the single-request figures: ``POST /v1/airings`` at ``rate`` req/s against the raw endpoint."""
    port, env = await fresh_scheduler(dsn)
    base = f"http://127.0.0.1:{port}"
    timeout = aiohttp.ClientTimeout(total=600)
    async with (
        process(["-m", "services.scheduler"], env, port) as scheduler,
        aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=64)) as session,
    ):
        bodies = airing_bodies(await register_communes(session, base, 500, ["Kinh"], "don-le"))
        await until_idle(dsn)
        await paced(session, f"{base}/v1/airings", bodies, rate, 1, PLANNER)  # warm-up
        loa, loa_cpu = await paced_with_cpu(
            session, f"{base}/v1/airings", bodies, rate, seconds, PLANNER, scheduler.pid
        )
    raw, raw_cpu = await raw_singles(dsn, rate, seconds)
    return single_results(rate, seconds, loa, loa_cpu, raw, raw_cpu)


async def confirmation_singles(dsn: str, seconds: float = 30, rate: float = 100.0) -> list[Result]:
    """Single confirmations (``POST /v1/airings/{id}/confirmation``) at ``rate`` req/s against the raw
    endpoint: an operator's phone confirming one airing at a time, past airings planned beforehand."""
    from bench.asrun import planned

    port, env = await fresh_scheduler(dsn)
    base = f"http://127.0.0.1:{port}"
    need = int(rate * (seconds + 1))
    async with (
        process(["-m", "services.scheduler"], env, port) as scheduler,
        aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=600), connector=aiohttp.TCPConnector(limit=64)
        ) as session,
    ):
        communes = await register_communes(session, base, 129, LANGUAGES, "xac-nhan")
        airings = iter(await planned(session, base, communes, date(2022, 1, 3), need))
        await within(600, "the relay and read model catch up", until_idle(dsn))

        def confirmation(airing: dict) -> tuple[str, dict]:
            return f"{base}/v1/airings/{airing['airing_id']}/confirmation", {"outcome": "aired"}

        await paced(session, confirmation, airings, rate, 1, PLANNER, ok=200)  # warm-up
        loa, loa_cpu = await paced_with_cpu(session, confirmation, airings, rate, seconds, PLANNER,
                                            scheduler.pid, ok=200)  # fmt: skip
    raw, raw_cpu = await raw_singles(dsn, rate, seconds)
    return single_results(rate, seconds, loa, loa_cpu, raw, raw_cpu, "single confirmation", "")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def run(dsn: str, quick: bool = False) -> list[Result]:
    port, env = await fresh_scheduler(dsn)
    base = f"http://127.0.0.1:{port}"
    results: list[Result] = []
    timeout = aiohttp.ClientTimeout(total=600)
    connector = aiohttp.TCPConnector(limit=64)
    async with (
        process(["-m", "services.scheduler"], env, port) as scheduler,
        aiohttp.ClientSession(timeout=timeout, connector=connector) as session,
    ):
        # -- bulk plan: 129 communes x 3 languages x Mon/Wed/Fri, one month per round --------------
        communes = await register_communes(session, base, 129, LANGUAGES, "dien-bien")
        months = [date(2023, m, 1) for m in (8, 9, 10)][: 1 if quick else 3]
        loa_times, planned = [], 0
        for first in months:
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            seconds, result = await fan_out(session, base, {
                "title": "Bản tin BHYT học sinh, sinh viên", "communes": communes,
                "rule": "FREQ=WEEKLY;BYDAY=MO,WE,FR", "from_date": first.isoformat(),
                "to_date": last.isoformat(), "window": 2, "duration_minutes": 15, "gap_minutes": 5,
                "script": "Kính thưa bà con …",
            })  # fmt: skip
            loa_times.append(seconds)
            planned = result["planned"]
        raw_times = [await raw_copy(dsn, planned) for _ in months]
        results.append(
            Result(
                f"bulk plan 129 communes x 3 lang ({planned:,})",
                "airings/s",
                planned / median(loa_times),
                raw=planned / median(raw_times),
                note=f"one HTTP request; median {median(loa_times):.3f} s (target < 1 s)",
            )
        )

        # -- national fan-out: 3,321 communes x 2 airings a day x 30 days ----------------------------
        n = 300 if quick else 3321
        national = await register_communes(session, base, n, ["Kinh", "Êđê"], "toan-quoc")
        before = rss_mb(scheduler.pid, "VmRSS")
        seconds, result = await fan_out(session, base, {
            "title": "Luật BHXH năm 2024", "communes": national, "from_date": "2025-01-01",
            "to_date": "2025-01-30", "rule": "FREQ=DAILY", "window": 1, "duration_minutes": 15,
            "gap_minutes": 5,
        })  # fmt: skip
        total = result["planned"]
        listed = await within(
            600,
            f"the read model lists {total:,} airings",
            until_listed(session, base, "2025-01-01", "2025-01-31", total),
        )
        peak = rss_mb(scheduler.pid, "VmHWM")
        raw = await raw_copy(dsn, total)
        results.append(
            Result(
                f"national fan-out {n:,} communes ({total:,})",
                "airings/s",
                total / seconds,
                raw=total / raw,
                note=f"one HTTP request, answered when committed: {seconds:.1f} s (target < 20 s); "
                f"all of it in the read model after {seconds + listed:.1f} s; "
                f"service RSS {before:.0f} MB before, peak {peak:.0f} MB",
            )
        )
        results.append(
            Result("scheduler peak RSS after national fan-out", "MB", peak, note=f"{total:,} airings")
        )

        # -- single schedule requests at 200 req/s ---------------------------------------------------
        seconds = 5 if quick else 30
        rate = 200.0
        single_communes = await register_communes(session, base, 500, ["Kinh"], "don-le")

        bodies = airing_bodies(single_communes)
        await within(600, "the relay and read model catch up", until_idle(dsn))
        await paced(session, f"{base}/v1/airings", bodies, rate, 1, PLANNER)  # warm-up
        loa, loa_cpu = await paced_with_cpu(
            session, f"{base}/v1/airings", bodies, rate, seconds, PLANNER, scheduler.pid
        )

        # -- the same requests as fast as 32 clients go, on one replica and then on two -------------
        await within(600, "the relay and read model catch up", until_idle(dsn))
        one = await closed_loop(session, [base], bodies, 32, seconds)
        port2 = free_port()
        async with process(["-m", "services.scheduler"], env | {"LOA_SCHEDULER_PORT": str(port2)}, port2):
            two_bases = [base, f"http://127.0.0.1:{port2}"]
            await closed_loop(session, two_bases, bodies, 32, 1)  # warm-up
            two = await closed_loop(session, two_bases, bodies, 32, seconds)
        for replicas, (rate_done, latencies) in ((1, one), (2, two)):
            results.append(
                Result(
                    f"schedule requests, 32 clients, {replicas} replica{'s' if replicas > 1 else ''}",
                    "req/s",
                    rate_done,
                    note=f"closed loop {seconds} s, same run; "
                    f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
                    f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms",
                )
            )

    raw, raw_cpu = await raw_singles(dsn, rate, seconds)
    results += single_results(rate, seconds, loa, loa_cpu, raw, raw_cpu)
    return results


def main() -> None:
    """python -m bench.scheduler --singles [--seconds 30]: the single-request figures alone."""
    import argparse

    import uvloop

    from bench.__main__ import servers
    from bench.harness import isolated, table

    parser = argparse.ArgumentParser(prog="python -m bench.scheduler")
    parser.add_argument("--singles", action="store_true", help="only POST /v1/airings at 200 req/s vs raw")
    parser.add_argument("--confirmations", action="store_true", help="only single confirmations at 100 req/s")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (--singles)")
    parser.add_argument("--dsn")
    args = parser.parse_args()
    server_dsn, broker = servers(args.dsn)
    uvloop.install()
    # A database and a virtual host of its own, as in python -m bench (nothing of ./loa up takes part).
    with isolated("scheduler", server_dsn=server_dsn, broker=broker) as place:
        if args.confirmations:
            measured = confirmation_singles(place.dsn, args.seconds, args.rate if args.rate != 200 else 100)
        else:
            measured = singles(place.dsn, args.seconds, args.rate) if args.singles else run(place.dsn)
        print(table(asyncio.run(measured)))


if __name__ == "__main__":
    main()
