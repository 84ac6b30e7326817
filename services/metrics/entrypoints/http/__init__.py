"""The metrics HTTP API (/v1), one module per resource: parse, call a handler or a query, answer."""

from services.metrics.entrypoints.http import (
    admin,
    airings,
    dashboard,
    livestreams,
    reports,
    samples,
    stats,
    stream,
)

ROUTES = [m.routes for m in (admin, samples, stats, airings, stream, reports, livestreams, dashboard)]
"""Every resource's routes, for the composition root."""
