"""python -m services.scheduler: run the scheduler service (HTTP on LOA_SCHEDULER_PORT)."""

from __future__ import annotations

import uvloop

from services.common.logging import configure_logging
from services.common.settings import Settings
from services.common.startup import serve
from services.scheduler.bootstrap import create_app


def main() -> None:
    settings = Settings()
    settings.check_for_service()
    configure_logging(settings.log_format, settings.log_level)
    uvloop.install()
    serve(create_app(settings), host=settings.http_host, port=settings.scheduler_port)


if __name__ == "__main__":
    main()
