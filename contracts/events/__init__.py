"""Every event that crosses a service boundary, registered by its wire name.

The scheduler and metrics services add their events here; ``REGISTRY`` is the one
place that knows them all.
"""

from contracts.events import access, metrics, reference, schedule, series
from contracts.registry import EventRegistry

REGISTRY = EventRegistry()
for _module in (schedule, series, reference, metrics, access):
    for _cls in _module.EVENTS:
        REGISTRY.register(_cls)
metrics.register_upcasters(REGISTRY)

__all__ = ["REGISTRY"]
