"""python -m services.demo load | simulate"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.common.settings import Settings
from services.demo.loader import load
from services.demo.simulator import simulate


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m services.demo", description=__doc__)
    parser.add_argument("command", choices=["load", "simulate"])
    parser.add_argument("--scheduler", default=f"http://127.0.0.1:{settings.scheduler_port}")
    parser.add_argument("--metrics", default=f"http://127.0.0.1:{settings.metrics_port}")
    parser.add_argument("--every", type=float, default=3.0, help="simulate: seconds between readings")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(f"[demo] {line}", file=sys.stderr, flush=True)

    if args.command == "load":
        asyncio.run(load(args.scheduler, args.metrics, settings.token_secret, say=say))
    else:
        asyncio.run(simulate(args.scheduler, args.metrics, settings.token_secret, args.every, say=say))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
