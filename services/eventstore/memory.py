"""An in-memory event store for unit tests: same contract as the PostgreSQL one, no IO."""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from uuid import UUID

import orjson

from services.eventstore.port import (
    AppendResult,
    DivergentCopy,
    DuplicateEventId,
    Expect,
    ExpectedVersion,
    InOrder,
    NewEvent,
    RawJson,
    RecordedEvent,
    ScannedEvent,
    StreamAppend,
    category_of,
    check_append,
    versions_after,
)


class InMemoryEventStore:
    """Holds every event in a list; positions are dense (1, 2, 3, …)."""

    def __init__(self, schema: str = "memory") -> None:
        self.schema = schema
        self._log: list[RecordedEvent] = []
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._by_id: dict[UUID, RecordedEvent] = {}
        self._held: dict[str, dict[int, NewEvent]] = {}  # early arrivals of append_in_order
        self._appended = asyncio.Event() if _has_loop() else None

    # -- writing ------------------------------------------------------------------
    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = Expect.ANY,
    ) -> AppendResult:
        return self._append_all([StreamAppend(stream_id, events, expected_version)])[0]

    async def append_batch(self, appends: Sequence[StreamAppend]) -> list[AppendResult]:
        return self._append_all(appends)

    def _append_all(self, appends: Sequence[StreamAppend]) -> list[AppendResult]:
        # Check everything first so that a batch is all or nothing.
        plans: list[tuple[StreamAppend, int] | AppendResult] = []
        pending: dict[str, int] = {}
        for item in appends:
            check_append(item.stream_id, item.events)
            original = self._original(item)
            if original is not None:
                plans.append(original)
                continue
            current = pending.get(item.stream_id, len(self._streams.get(item.stream_id, ())))
            versions_after(item.stream_id, item.expected_version, current)
            pending[item.stream_id] = current + len(item.events)
            plans.append((item, current))
        results = []
        for plan in plans:
            if isinstance(plan, AppendResult):
                results.append(plan)
                continue
            item, current = plan
            results.append(self._write(item, current))
        return results

    def _original(self, item: StreamAppend) -> AppendResult | None:
        known = [self._by_id.get(e.event_id) for e in item.events]
        if all(k is None for k in known):
            return None
        if any(k is None for k in known) or any(k.stream_id != item.stream_id for k in known):
            raise DuplicateEventId([e.event_id for e, k in zip(item.events, known, strict=True) if k])
        return AppendResult(
            item.stream_id,
            known[0].stream_version,
            known[-1].stream_version,
            tuple(k.global_position for k in known),
            duplicate=True,
        )

    def _write(self, item: StreamAppend, current: int) -> AppendResult:
        now = datetime.now(UTC)
        stream = self._streams.setdefault(item.stream_id, [])
        positions = []
        for offset, event in enumerate(item.events, start=1):
            recorded = RecordedEvent(
                event_id=event.event_id,
                stream_id=item.stream_id,
                stream_version=current + offset,
                global_position=len(self._log) + 1,
                type=event.type,
                schema_version=event.schema_version,
                data=orjson.loads(bytes(event.data)) if isinstance(event.data, RawJson) else event.data,
                metadata=event.metadata,
                occurred_at=event.occurred_at,
                recorded_at=now,
            )
            self._log.append(recorded)
            stream.append(recorded)
            self._by_id[event.event_id] = recorded
            positions.append(recorded.global_position)
        if self._appended is not None:
            self._appended.set()
        return AppendResult(item.stream_id, current + 1, current + len(item.events), tuple(positions))

    async def append_in_order(self, stream_id: str, event: NewEvent, version: int) -> InOrder:
        current = len(self._streams.get(stream_id, ()))
        if version <= current:
            kept = await self.event_id_at(stream_id, version)
            if kept != event.event_id:
                raise DivergentCopy(stream_id, version, kept, event.event_id)
            return InOrder(0)
        held = self._held.setdefault(stream_id, {})
        if version > current + 1:
            held.setdefault(version, event)
            return InOrder(0, held=True)
        events = [event]
        while (following := held.get(version + len(events))) is not None:
            events.append(following)
        self._append_all([StreamAppend(stream_id, events, current)])
        for v in range(version, version + len(events)):
            held.pop(v, None)
        return InOrder(len(events))

    # -- reading ------------------------------------------------------------------
    async def read_stream(
        self,
        stream_id: str,
        from_version: int = 1,
        limit: int | None = None,
        *,
        until: int | None = None,
    ) -> list[RecordedEvent]:
        events = self._streams.get(stream_id, [])[max(from_version, 1) - 1 :]
        if until is not None:
            events = [e for e in events if e.global_position <= until]
        return events[:limit] if limit is not None else list(events)

    async def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        *,
        types: Sequence[str] | None = None,
        category: str | None = None,
        until: int | None = None,
    ) -> list[RecordedEvent]:
        out = []
        for event in self._log[max(after_position, 0) :]:
            if until is not None and event.global_position > until:
                break
            if _wanted(event, types, category):
                out.append(event)
                if len(out) >= limit:
                    break
        return out

    async def scan(
        self,
        after_position: int = 0,
        limit: int = 20_000,
        *,
        until: int | None = None,
        skip_parked: bool = False,  # nothing is parked in memory
    ) -> list[ScannedEvent]:
        return [
            ScannedEvent(e.global_position, e.type, e.schema_version, orjson.dumps(e.data).decode())
            for e in await self.read_all(after_position, limit, until=until)
        ]

    async def read_positions(self, positions: Collection[int]) -> list[RecordedEvent]:
        return [self._log[p - 1] for p in sorted(set(positions)) if 0 < p <= len(self._log)]

    async def head_position(self) -> int:
        return len(self._log)

    async def last_position(
        self,
        *,
        types: Sequence[str] | None = None,
        category: str | None = None,
        recorded_until: datetime | None = None,
    ) -> int:
        log = self._log
        if recorded_until is not None:  # recorded_at grows with the position
            log = log[: bisect_right(log, recorded_until, key=lambda e: e.recorded_at)]
        for event in reversed(log):
            if _wanted(event, types, category):
                return event.global_position
        return 0

    async def stream_head(self, stream_id: str) -> int:
        return len(self._streams.get(stream_id, ()))

    async def event_id_at(self, stream_id: str, version: int) -> UUID | None:
        events = self._streams.get(stream_id, [])
        return events[version - 1].event_id if 0 < version <= len(events) else None

    async def stored_event_ids(self, event_ids: Collection[UUID]) -> set[UUID]:
        return {i for i in event_ids if i in self._by_id}

    async def wait_for_append(self, timeout: float) -> None:
        """Wait until something is appended (a stand-in for LISTEN/NOTIFY)."""
        if self._appended is None:
            self._appended = asyncio.Event()
        try:
            await asyncio.wait_for(self._appended.wait(), timeout)
        except TimeoutError:
            return
        self._appended.clear()


def _wanted(event: RecordedEvent, types: Sequence[str] | None, category: str | None) -> bool:
    if types and event.type not in types:
        return False
    return category is None or category_of(event.stream_id) == category


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
