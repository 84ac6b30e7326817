"""Registry of event types by stable wire name, with upcasters for old schema versions.

Stored events are never rewritten: an event recorded as ``schema_version`` 1 of a
type whose current version is 3 is upgraded on read by the chain of upcasters
1 -> 2 -> 3 registered next to the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import Field, TypeAdapter, ValidationError, create_model

from contracts.base import Event
from contracts.envelope import Envelope, EventMetadata, WireEnvelope, envelope_of

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """A stored or received event names a type this code does not know."""

    def __init__(self, type_: str, schema_version: int | None = None) -> None:
        self.type = type_
        self.schema_version = schema_version
        version = f" (schema_version {schema_version})" if schema_version is not None else ""
        super().__init__(f"unknown event type {type_!r}{version}: no contract is registered for it")


class UnsupportedSchemaVersion(LookupError):
    """An event's schema version is newer than the code, or no upcaster bridges the gap."""

    def __init__(self, type_: str, schema_version: int, current: int) -> None:
        self.type = type_
        self.schema_version = schema_version
        self.current = current
        super().__init__(
            f"event type {type_!r} schema_version {schema_version} cannot be read: "
            f"the current version is {current} and no upcaster chain reaches it"
        )


class EventRegistry:
    """Maps wire names to event classes and knows how to bring old payloads up to date."""

    def __init__(self) -> None:
        self._types: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    # -- registration -------------------------------------------------------------
    def register(self, cls: type[Event]) -> type[Event]:
        """Register an event class (usable as a class decorator)."""
        name = cls.wire_name
        if "." not in name:
            raise ValueError(f"wire name {name!r} must read 'context.EventType'")
        known = self._types.get(name)
        if known is not None and known is not cls:
            raise ValueError(f"wire name {name!r} is already taken by {known.__qualname__}")
        self._types[name] = cls
        return cls

    def upcaster(self, wire_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register ``fn(payload_v_n) -> payload_v_n+1`` for ``wire_name`` at ``from_version``."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(wire_name, from_version)] = fn
            return fn

        return decorate

    # -- lookup -------------------------------------------------------------------
    def __contains__(self, wire_name: object) -> bool:
        return wire_name in self._types

    def __iter__(self):
        return iter(sorted(self._types.values(), key=lambda c: c.wire_name))

    def event_class(self, wire_name: str) -> type[Event]:
        try:
            return self._types[wire_name]
        except KeyError:
            raise UnknownEventType(wire_name) from None

    # -- decoding -----------------------------------------------------------------
    def upcast(self, wire_name: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring ``data`` from ``schema_version`` up to the class's current version."""
        cls = self.event_class(wire_name)
        version = schema_version
        while version < cls.schema_version:
            step = self._upcasters.get((wire_name, version))
            if step is None:
                raise UnsupportedSchemaVersion(wire_name, schema_version, cls.schema_version)
            data = step(dict(data))
            version += 1
        if version > cls.schema_version:
            raise UnsupportedSchemaVersion(wire_name, schema_version, cls.schema_version)
        return data

    def decode(self, wire_name: str, schema_version: int, data: Mapping[str, Any] | str | bytes) -> Event:
        """Turn a stored payload into its contract object, upcasting it when it is old."""
        cls = self._types.get(wire_name)
        if cls is None:
            raise UnknownEventType(wire_name, schema_version)
        if schema_version == cls.schema_version:
            if isinstance(data, str | bytes):
                return cls.model_validate_json(data)
            return cls.model_validate(data)
        if isinstance(data, str | bytes):
            data = orjson.loads(data)
        return cls.model_validate(self.upcast(wire_name, schema_version, dict(data)))

    def parse_wire(self, body: bytes | str) -> Envelope[Event]:
        """Parse an envelope received from the bus into a typed :class:`Envelope`."""
        wire = WireEnvelope.model_validate_json(body)
        return self.typed(wire)

    def typed(self, wire: WireEnvelope) -> Envelope[Event]:
        event = self.decode(wire.type, wire.schema_version, wire.data)
        return envelope_of(wire, event, wire.metadata)

    # -- documents ----------------------------------------------------------------
    def envelope_union(self) -> TypeAdapter[Any]:
        """A discriminated union (on ``type``) of the envelope of every registered event.

        Used to validate current-version envelopes strictly and to generate the
        JSON Schema / AsyncAPI documents.
        """
        variants = [self.typed_envelope(cls) for cls in self]
        if not variants:
            raise ValueError("no event types registered")
        union = variants[0] if len(variants) == 1 else Union[tuple(variants)]  # noqa: UP007
        return TypeAdapter(Annotated[union, Field(discriminator="type")])

    @staticmethod
    def typed_envelope(cls: type[Event]) -> type[Envelope[Any]]:
        return create_model(
            cls.__name__ + "Envelope",
            __base__=Envelope[cls],  # type: ignore[valid-type]
            type=(Literal[cls.wire_name], ...),  # type: ignore[valid-type]
            schema_version=(Literal[cls.schema_version], cls.schema_version),  # type: ignore[valid-type]
        )


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Field-by-field reasons of a pydantic error, in a JSON-friendly form."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "reason": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False)
    ]


def make_registry(classes: Iterable[type[Event]]) -> EventRegistry:
    registry = EventRegistry()
    for cls in classes:
        registry.register(cls)
    return registry


__all__ = [
    "EventMetadata",
    "EventRegistry",
    "UnknownEventType",
    "UnsupportedSchemaVersion",
    "make_registry",
    "validation_errors",
]
