"""python -m bench [--quick] [--dsn DSN]: Loa side by side with the raw ceiling and the peer.

Prints a table and writes bench/results.json (a list of {"name", "unit", "loa",
"raw", "peer", …}). Without --dsn or LOA_PG_DSN it starts the project's own
servers (./loa up) and uses a database ``loa_bench`` there.
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
from bench.harness import table

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


def default_dsn() -> str:
    if os.environ.get("LOA_PG_DSN"):
        return os.environ["LOA_PG_DSN"]
    from services.devstack import Stack

    stack = Stack.for_dev()
    stack.postgres.up()
    stack.postgres.create_database("loa_bench")
    return stack.pg_dsn.rsplit("/", 1)[0] + "/loa_bench"


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
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args(argv)
    dsn = args.dsn or default_dsn()
    uvloop.install()
    results = []
    for name, suite in SUITES:
        if args.only and name not in args.only:
            continue
        print(f"# {name} …", file=sys.stderr, flush=True)
        results += asyncio.run(suite(dsn, quick=args.quick))
    print(table(results))
    info = machine() | {"postgresql": server_version(dsn), "quick": args.quick}
    print(f"\nmachine: {info}")
    Path(args.out).write_text(json.dumps([r.record() for r in results], indent=2, ensure_ascii=False) + "\n")
    (Path(args.out).with_suffix(".machine.json")).write_text(json.dumps(info, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
