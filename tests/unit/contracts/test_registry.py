from uuid import uuid4

import orjson
import pytest
from pydantic import ValidationError

from contracts.envelope import EventMetadata
from contracts.events import REGISTRY
from contracts.events.metrics import SampleRecorded
from contracts.events.schedule import AiringKind, AiringScheduled, Priority
from contracts.registry import EventRegistry, UnknownEventType, UnsupportedSchemaVersion, validation_errors
from services.eventstore.codec import check_payload, decode, encode
from services.eventstore.memory import InMemoryEventStore
from services.eventstore.port import NewEvent

AIRING = "9b2f7c1e-5a3d-4c2b-8e1f-0a1b2c3d4e5f"

# A SampleRecorded as schema_version 1 stored it (the seed livestream's final counts).
STORED_V1 = {
    "airing_id": AIRING,
    "sampled_at": "2023-08-20T21:30:00+07:00",
    "source": "facebook",
    "views": 1700,
    "reactions": 778,
    "shares": 139,
    "comments": 105,
}


def airing_scheduled(**overrides):
    fields = {
        "airing_id": uuid4(),
        "kind": AiringKind.loudspeaker,
        "resource_id": "loudspeaker:xa-ea-tu",
        "starts_at": "2023-08-07T17:30:00+07:00",
        "ends_at": "2023-08-07T17:45:00+07:00",
        "title": "Bản tin BHYT học sinh, sinh viên",
        "language": "Êđê",
    }
    return AiringScheduled(**(fields | overrides))


def test_v1_sample_is_upcast_on_read():
    event = REGISTRY.decode("metrics.SampleRecorded", 1, STORED_V1)
    assert isinstance(event, SampleRecorded)
    assert event.counters == {"views": 1700, "reactions": 778, "shares": 139, "comments": 105}
    assert event.source == "facebook"


def test_v1_sample_with_missing_counter_keeps_the_others():
    stored = {k: v for k, v in STORED_V1.items() if k != "shares"} | {"comments": None}
    event = REGISTRY.decode("metrics.SampleRecorded", 1, stored)
    assert event.counters == {"views": 1700, "reactions": 778}


def test_current_version_decodes_from_json_text_and_dicts():
    payload = {**{k: STORED_V1[k] for k in ("airing_id", "sampled_at", "source")}, "counters": {"views": 5}}
    assert REGISTRY.decode("metrics.SampleRecorded", 2, payload) == REGISTRY.decode(
        "metrics.SampleRecorded", 2, orjson.dumps(payload)
    )


def test_unknown_type_is_named():
    with pytest.raises(UnknownEventType, match=r"schedule\.AiringTeleported"):
        REGISTRY.decode("schedule.AiringTeleported", 1, {})


def test_future_schema_version_is_refused_clearly():
    with pytest.raises(UnsupportedSchemaVersion, match="schema_version 9"):
        REGISTRY.decode("metrics.SampleRecorded", 9, {})


def test_missing_upcaster_is_refused_clearly():
    registry = EventRegistry()
    registry.register(SampleRecorded)
    with pytest.raises(UnsupportedSchemaVersion):
        registry.decode("metrics.SampleRecorded", 1, STORED_V1)


def test_contracts_are_frozen_and_strict():
    event = airing_scheduled()
    with pytest.raises(ValidationError):
        event.title = "khác"
    with pytest.raises(ValidationError) as err:
        airing_scheduled(colour="đỏ")
    assert validation_errors(err.value)[0]["field"] == "colour"


def test_naive_times_are_refused():
    with pytest.raises(ValidationError) as err:
        airing_scheduled(starts_at="2023-08-07T17:30:00")
    assert validation_errors(err.value)[0]["field"] == "starts_at"


def test_wire_names_are_unique_and_declared():
    registry = EventRegistry()
    registry.register(SampleRecorded)

    class Impostor(SampleRecorded):
        wire_name = "metrics.SampleRecorded"

    with pytest.raises(ValueError, match="already taken"):
        registry.register(Impostor)


def test_envelope_union_discriminates_on_type():
    event = airing_scheduled(priority=Priority.emergency)
    body = {
        "event_id": str(uuid4()),
        "type": "schedule.AiringScheduled",
        "schema_version": 1,
        "stream_id": f"airing-{event.airing_id}",
        "stream_version": 1,
        "occurred_at": "2023-08-07T10:00:00Z",
        "data": event.model_dump(mode="json"),
    }
    parsed = REGISTRY.envelope_union().validate_python(body)
    assert parsed.data == event
    with pytest.raises(ValidationError):
        REGISTRY.envelope_union().validate_python(body | {"type": "metrics.SampleRecorded"})


def test_parse_wire_upcasts_old_payloads():
    body = {
        "event_id": str(uuid4()),
        "type": "metrics.SampleRecorded",
        "schema_version": 1,
        "stream_id": f"samples-{AIRING}",
        "stream_version": 3,
        "global_position": 42,
        "occurred_at": "2023-08-20T14:30:00Z",
        "data": STORED_V1,
        "metadata": {"actor": "collector:facebook"},
    }
    envelope = REGISTRY.parse_wire(orjson.dumps(body))
    assert envelope.schema_version == 2
    assert envelope.data.counters["views"] == 1700
    assert envelope.metadata.actor == "collector:facebook"


async def test_encode_append_read_decode_round_trip():
    store = InMemoryEventStore()
    event = airing_scheduled()
    correlation = uuid4()
    new = encode(event, EventMetadata(correlation_id=correlation, actor="planner:dak-lak"))
    await store.append(f"airing-{event.airing_id}", [new])
    [recorded] = await store.read_stream(f"airing-{event.airing_id}")
    envelope = decode(REGISTRY, recorded)
    assert envelope.data == event
    assert envelope.metadata.correlation_id == correlation
    assert envelope.global_position == 1


def test_a_payload_that_breaks_its_contract_is_refused_before_writing():
    bad = NewEvent(uuid4(), "schedule.AiringScheduled", 1, {"airing_id": "không phải uuid"})
    with pytest.raises(ValidationError):
        check_payload(REGISTRY, bad)
    with pytest.raises(UnknownEventType):
        check_payload(REGISTRY, NewEvent(uuid4(), "schedule.Nope", 1, {}))
