"""Write the JSON Schema of every event and the AsyncAPI document of the bus, from the models.

    python -m contracts.export            # write docs/events/*.schema.json and docs/asyncapi.json
    python -m contracts.export --check    # exit 1 when the committed documents are stale

The documents are generated, never edited by hand; a unit test runs ``--check``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from contracts.envelope import EventMetadata
from contracts.events import REGISTRY
from contracts.registry import EventRegistry

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXCHANGE = "loa.events"


def event_schema(registry: EventRegistry, wire_name: str) -> dict[str, Any]:
    """JSON Schema of one event's envelope, with its payload inline."""
    cls = registry.event_class(wire_name)
    envelope = registry.typed_envelope(cls)
    schema = envelope.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://loa.example/events/{wire_name}.v{cls.schema_version}.schema.json"
    schema["title"] = wire_name
    schema["description"] = (cls.__doc__ or "").strip()
    return schema


def asyncapi(registry: EventRegistry) -> dict[str, Any]:
    """AsyncAPI 3.0: one channel per routing key on the ``loa.events`` topic exchange."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for cls in registry:
        name = cls.wire_name
        key = name.replace(".", "_")
        messages[key] = {
            "name": name,
            "title": name,
            "summary": (cls.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "stream_id": {"type": "string"},
                    "global_position": {"type": "integer"},
                },
            },
            "correlationId": {"location": "$message.header#/correlation_id"},
            "payload": {"$ref": f"./events/{name}.schema.json"},
            "bindings": {
                "amqp": {"contentEncoding": "utf-8", "messageType": name, "bindingVersion": "0.3.0"}
            },
        }
        channels[key] = {
            "address": name,
            "description": f"Routing key {name} on the {EXCHANGE} topic exchange "
            f"(schema_version {cls.schema_version}).",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": EXCHANGE, "type": "topic", "durable": True, "autoDelete": False},
                    "bindingVersion": "0.3.0",
                }
            },
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"The {cls.context()} service's outbox relay publishes {name}.",
            "bindings": {"amqp": {"deliveryMode": 2, "ack": True, "bindingVersion": "0.3.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Loa events",
            "version": "1",
            "description": (
                "Events published by the Loa services through their outbox relays. Delivery is "
                "at-least-once: consumers deduplicate by message_id (= event_id). Messages are "
                "persistent, carry type (the wire name), correlation_id and content_type "
                "application/json; the body is the envelope."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {"EventMetadata": EventMetadata.model_json_schema()},
        },
    }


def documents(registry: EventRegistry = REGISTRY) -> dict[Path, bytes]:
    """Every generated document, by path, as the bytes that belong on disk."""
    out: dict[Path, bytes] = {}
    opts = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    for cls in registry:
        out[DOCS / "events" / f"{cls.wire_name}.schema.json"] = (
            orjson.dumps(event_schema(registry, cls.wire_name), option=opts) + b"\n"
        )
    out[DOCS / "asyncapi.json"] = orjson.dumps(asyncapi(registry), option=opts) + b"\n"
    return out


def stale(docs: dict[Path, bytes]) -> list[Path]:
    """Documents whose file is missing or differs; and stray schema files of removed events."""
    wrong = [path for path, body in docs.items() if not path.exists() or path.read_bytes() != body]
    strays = [p for p in (DOCS / "events").glob("*.schema.json") if p not in docs]
    return wrong + strays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the documents are current")
    args = parser.parse_args(argv)
    docs = documents()
    if args.check:
        bad = stale(docs)
        for path in bad:
            print(f"stale: {path.relative_to(ROOT)} (run: python -m contracts.export)", file=sys.stderr)
        return 1 if bad else 0
    for path in stale(docs):
        if path not in docs:
            path.unlink()
    for path, body in docs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
