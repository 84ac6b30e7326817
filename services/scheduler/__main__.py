"""python -m services.scheduler: run the scheduler service (HTTP on LOA_SCHEDULER_PORT)."""

from __future__ import annotations

from services.common.startup import run_service
from services.scheduler.bootstrap import create_app


def main() -> None:
    run_service(create_app, lambda settings: settings.scheduler_port)


if __name__ == "__main__":
    main()
