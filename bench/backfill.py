"""Backfill: a metrics service that starts late learns every earlier airing.

10,000 airings are planned (100 communes x 100 days, one fan-out request) while
no metrics service runs; the relay has already published them into the metrics
queue, which it declared before publishing. Then:

- **late start**: the metrics service starts; seconds until its log knows every airing;
- **after a reset**: it is stopped, its schemas are dropped, it starts empty and
  ``python -m services.bus.replay metrics.scheduler-events`` publishes the scheduler's
  log again into its queue; seconds from the start until it knows every airing again.

Target: within 60 s of its start. Its own RabbitMQ virtual host (``loa-bench``), so that
no other metrics service on the broker takes the bench's events.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import date, timedelta

import aiohttp
import asyncpg

from bench.harness import Result, within
from bench.scheduler import SECRET, bench_vhost, fan_out, process, register_communes, until_idle
from services.devstack.servers import free_port


async def airings_known(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("select to_regclass('metrics.events') is not null")
    if not exists:
        return 0
    return await conn.fetchval("select count(*) from metrics.events where type = 'schedule.AiringScheduled'")


async def until_known(dsn: str, total: int, started: float, timeout: float = 300) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        while await airings_known(conn) < total:
            if time.monotonic() - started > timeout:
                raise RuntimeError(
                    f"the metrics service knew {await airings_known(conn)} of {total} after {timeout} s"
                )
            await asyncio.sleep(0.2)
        return time.monotonic() - started
    finally:
        await conn.close()


async def drop_metrics(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for [schema] in await conn.fetch(
            "select nspname from pg_namespace where nspname ~ '^metrics(_g[0-9]+)?$'"
        ):
            await conn.execute(f"drop schema {schema} cascade")
    finally:
        await conn.close()


async def run(dsn: str, quick: bool = False) -> list[Result]:
    conn = await asyncpg.connect(dsn)
    await conn.execute("drop schema if exists scheduler cascade")
    await conn.close()
    await drop_metrics(dsn)
    communes, days = (20, 50) if quick else (100, 100)
    total = communes * days
    port, metrics_port = free_port(), free_port()
    env = {
        "LOA_PG_DSN": dsn,
        "LOA_AMQP_URL": await asyncio.to_thread(bench_vhost),
        "LOA_SCHEDULER_PORT": str(port),
        "LOA_METRICS_PORT": str(metrics_port),
        "LOA_TOKEN_SECRET": SECRET,
        "LOA_LOG_LEVEL": "warning",
        "LOA_LOG_FORMAT": "json",
    }
    base = f"http://127.0.0.1:{port}"
    timeout = aiohttp.ClientTimeout(total=600)
    async with (
        process(["-m", "services.scheduler"], env, port),
        aiohttp.ClientSession(timeout=timeout) as session,
    ):
        ids = await register_communes(session, base, communes, ["Kinh"], "bo-sung")
        _, planned = await plan(session, base, ids, days)
        assert planned == total, planned
        # published: everything waits in the metrics queue
        await within(600, "the relay catches up", until_idle(dsn))

        started = time.monotonic()
        async with process(["-m", "services.metrics"], env, metrics_port):
            late = await until_known(dsn, total, started)
        await drop_metrics(dsn)
        started = time.monotonic()
        async with process(["-m", "services.metrics"], env, metrics_port):
            replay = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "services.bus.replay", "metrics.scheduler-events"],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                check=True,
            )
            reset = await until_known(dsn, total, started)
    return [
        Result(
            f"late consumer learns {total:,} earlier airings",
            "airings/s",
            total / late,
            note=f"metrics service started after the plan: all known {late:.1f} s after its start "
            "(target < 60 s)",
        ),
        Result(
            f"reset consumer learns {total:,} airings again (replay)",
            "airings/s",
            total / reset,
            note=f"schemas dropped, service started empty, `python -m services.bus.replay` "
            f"({replay.stdout.strip().splitlines()[-1]}): "
            f"all known {reset:.1f} s after its start (target < 60 s)",
        ),
    ]


async def plan(
    session: aiohttp.ClientSession, base: str, communes: list[str], days: int
) -> tuple[float, int]:
    """One airing a day in every commune for ``days`` days, in one fan-out request."""
    first = date(2024, 1, 1)
    seconds, result = await fan_out(session, base, {
        "title": "Bản tin BHXH tự nguyện", "communes": communes, "rule": "FREQ=DAILY",
        "from_date": first.isoformat(), "to_date": (first + timedelta(days=days - 1)).isoformat(),
        "window": 1, "duration_minutes": 15, "gap_minutes": 5,
    })  # fmt: skip
    return seconds, result["planned"]
