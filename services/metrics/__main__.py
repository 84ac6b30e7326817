"""python -m services.metrics: run the metrics service (HTTP on LOA_METRICS_PORT)."""

from __future__ import annotations

from services.common.startup import run_service
from services.metrics.bootstrap import create_app


def main() -> None:
    run_service(create_app, lambda settings: settings.metrics_port)


if __name__ == "__main__":
    main()
