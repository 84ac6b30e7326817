"""python -m bench [--quick] [--dsn DSN] [--only SUITE] [--keep]: Loa beside the raw ceiling and the peer.

Prints a table and writes bench/results.json (a list of {"name", "unit", "loa",
"raw", "peer", …}). Without --dsn or LOA_PG_DSN it starts the servers of ./loa up
(PostgreSQL and RabbitMQ only) and runs each suite in a database ``loa_bench_<suite>``
and a RabbitMQ virtual host ``loa-bench-<suite>`` of its own, made before the suite
and dropped after it, so a bench beside a running demo touches neither its data nor
its queues. A figure whose wait runs past its deadline is reported as FAILED with
the reason, the other suites still run, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from pathlib import Path

import uvloop

from bench import asrun, backfill, eventstore, feeds, metrics, reports, scheduler
from bench.harness import Broker, isolated, not_measured, table

HERE = Path(__file__).resolve().parent

# Each entry: (name, coroutine function (dsn, quick) -> list[Result]). Services add theirs here.
SUITES = [
    ("eventstore", eventstore.run),
    ("scheduler", scheduler.run),
    ("feeds", feeds.run),
    ("metrics", metrics.run),
    ("reports", reports.run),
    ("asrun", asrun.run),
    ("backfill", backfill.run),
]


def machine() -> dict:
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":")[1].strip()
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def servers(dsn: str | None) -> tuple[str | None, Broker | None]:
    """Where the suites' databases and virtual hosts are made: on the launcher's servers (started
    when they do not run), unless the caller named a PostgreSQL (``--dsn``, ``LOA_PG_DSN``) or a
    RabbitMQ (``LOA_AMQP_URL``), which are then used as they are."""
    dsn = dsn or os.environ.get("LOA_PG_DSN")
    if dsn:
        os.environ["LOA_PG_DSN"] = dsn
    if dsn and os.environ.get("LOA_AMQP_URL"):
        return None, None
    from services.devstack import Stack

    stack = Stack.for_dev()
    server_dsn = None
    if not dsn:
        stack.postgres.up()
        server_dsn = stack.postgres.dsn.rsplit("/", 1)[0] + "/postgres"
    broker = None
    if not os.environ.get("LOA_AMQP_URL"):
        stack.rabbitmq.up()
        broker = Broker(stack.rabbitmq.url, stack.rabbitmq.management_url)
    return server_dsn, broker


def server_version(dsn: str) -> str:
    import asyncpg

    async def ask() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval("show server_version")
        finally:
            await conn.close()

    return asyncio.run(ask())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (a smoke run)")
    parser.add_argument("--dsn", help="PostgreSQL to measure on (default: LOA_PG_DSN or ./loa's own)")
    parser.add_argument("--only", choices=[name for name, _ in SUITES], action="append")
    parser.add_argument("--keep", action="store_true", help="leave each suite's database and vhost")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args(argv)
    server_dsn, broker = servers(args.dsn)
    uvloop.install()
    results, failed = [], 0
    for name, suite in SUITES:
        if args.only and name not in args.only:
            continue
        print(f"# {name} …", file=sys.stderr, flush=True)
        with isolated(name, server_dsn=server_dsn, broker=broker, keep=args.keep) as place:
            try:
                results += asyncio.run(suite(place.dsn, quick=args.quick))
            except Exception as error:  # any failure fails this suite, not the run
                # the suite's remaining figures are lost, the other suites still run
                why = str(error) or type(error).__name__
                print(f"# {name} FAILED: {why}", file=sys.stderr, flush=True)
                results.append(not_measured(f"{name} (suite)", why))
                failed += 1
    print(table(results))
    version = server_version(server_dsn or os.environ["LOA_PG_DSN"])
    info = machine() | {"postgresql": version, "quick": args.quick}
    print(f"\nmachine: {info}")
    Path(args.out).write_text(json.dumps([r.record() for r in results], indent=2, ensure_ascii=False) + "\n")
    (Path(args.out).with_suffix(".machine.json")).write_text(json.dumps(info, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
