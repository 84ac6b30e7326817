from services.scheduler.openapi import DOCUMENT, rendered


def test_committed_openapi_matches_the_contracts():
    assert DOCUMENT.read_bytes() == rendered(), "regenerate: python -m services.scheduler.openapi"
