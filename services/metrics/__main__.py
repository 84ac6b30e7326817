"""python -m services.metrics: run the metrics service (HTTP on LOA_METRICS_PORT)."""

from __future__ import annotations

import uvloop

from services.common.logging import configure_logging
from services.common.settings import Settings
from services.common.startup import serve
from services.metrics.bootstrap import create_app


def main() -> None:
    settings = Settings()
    settings.check_for_service()
    configure_logging(settings.log_format, settings.log_level)
    uvloop.install()
    serve(create_app(settings), host=settings.http_host, port=settings.metrics_port)


if __name__ == "__main__":
    main()
