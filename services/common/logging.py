"""structlog set-up: JSON lines in production, readable console output in development."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

# A token in an address (?token=…, &token=…) or a header value (Bearer …): never written to a log.
SECRETS = re.compile(r"((?:[?&;]|\b)token=)[^&\s\"']+|(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every token replaced by ``…``."""
    return SECRETS.sub(lambda m: (m.group(1) or m.group(2)) + "…", text)


def redact_event(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: tokens out of every string value of a log line."""
    for key, value in event.items():
        if isinstance(value, str) and ("token=" in value.lower() or "bearer" in value.lower()):
            event[key] = redact(value)
    return event


class RedactTokens(logging.Filter):
    """Tokens out of standard-library records, aiohttp's access log among them (its request line
    carries the query string, where calendar apps and EventSource put their token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message.lower() or "bearer" in message.lower():
            record.msg, record.args = redact(message), None
        return True


def configure_logging(fmt: str = "console", level: str = "info") -> None:
    """Configure structlog and the standard library's logging once per process.

    Context bound with ``structlog.contextvars.bind_contextvars`` (request_id,
    correlation_id, airing_id) is merged into every line.
    """
    numeric = logging.getLevelName(level.upper())
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    redact_standard_logs()


def redact_standard_logs() -> None:
    """Install :class:`RedactTokens` on the root handlers and aiohttp's loggers (once)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactTokens) for f in handler.filters):
            handler.addFilter(RedactTokens())  # a handler's filter sees every logger's records
    for name in ("aiohttp.access", "aiohttp.server", "aiohttp.web"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
