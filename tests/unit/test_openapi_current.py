from services.metrics.openapi import API as METRICS
from services.scheduler.openapi import API as SCHEDULER


def test_committed_openapi_matches_the_contracts():
    for api, module in ((SCHEDULER, "services.scheduler.openapi"), (METRICS, "services.metrics.openapi")):
        assert api.path.read_bytes() == api.rendered(), f"regenerate: python -m {module}"
