from contracts.export import documents, stale


def test_committed_event_documents_match_the_contracts():
    bad = stale(documents())
    assert not bad, f"regenerate with `python -m contracts.export`: {[str(p) for p in bad]}"


def test_asyncapi_names_every_event_channel():
    import orjson

    from contracts.events import REGISTRY
    from contracts.export import DOCS

    doc = orjson.loads((DOCS / "asyncapi.json").read_bytes())
    assert doc["asyncapi"].startswith("3.")
    assert {c["address"] for c in doc["channels"].values()} == {c.wire_name for c in REGISTRY}
