"""python -m services.web: run the web pages (HTTP on LOA_WEB_PORT, talking to LOA_SCHEDULER_URL and
LOA_METRICS_URL)."""

from __future__ import annotations

import uvloop
from aiohttp import web

from services.common.logging import configure_logging
from services.common.settings import Settings
from services.web.app import create_app


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    uvloop.install()
    web.run_app(create_app(settings), host=settings.http_host, port=settings.web_port, print=None)


if __name__ == "__main__":
    main()
