"""The event store port: what every store (PostgreSQL, in-memory) promises its callers.

Positions
    ``stream_version`` counts a stream's events from 1 without gaps.
    ``global_position`` orders all events of the store. It is strictly increasing
    in the order readers see events, but it is not dense: callers must never do
    arithmetic on it, only compare and resume "after" it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NamedTuple, Protocol
from uuid import UUID


class RawJson(bytes):
    """A payload already serialised to JSON (UTF-8), stored as it is.

    Bulk writers serialise each event once, in pydantic's Rust serialiser, instead of
    building a dict that the store would serialise again.
    """


class Expect(Enum):
    """Expected-version modes other than an exact version number."""

    ANY = "any"
    NO_STREAM = "no_stream"


ExpectedVersion = int | Expect
"""``Expect.ANY``, ``Expect.NO_STREAM`` or the exact current version (0 = empty stream)."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended; ``data`` is a JSON-ready dict or :class:`RawJson`."""

    event_id: UUID
    type: str
    schema_version: int
    data: dict[str, Any] | RawJson
    metadata: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class RecordedEvent(NamedTuple):
    """An event as the store holds it.

    A named tuple rather than a dataclass: replays build millions of them, and a
    tuple is the cheapest immutable record Python has.
    """

    event_id: UUID
    stream_id: str
    stream_version: int
    global_position: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime

    @property
    def category(self) -> str:
        return category_of(self.stream_id)


class AppendResult(NamedTuple):
    """Where the appended events landed (a named tuple: batch appends make one per stream).

    ``duplicate`` is true when every event_id was already stored: nothing was
    written and the positions are those of the original append.
    """

    stream_id: str
    first_version: int
    last_version: int
    positions: tuple[int, ...]
    duplicate: bool = False

    @property
    def last_position(self) -> int:
        return self.positions[-1]


class StreamAppend(NamedTuple):
    """One stream's share of a batch append."""

    stream_id: str
    events: Sequence[NewEvent]
    expected_version: ExpectedVersion = Expect.ANY


class ScannedEvent(NamedTuple):
    """One event of a :meth:`EventStore.scan` page: what a whole-log pass reads, nothing decoded.

    A page's rows may be the driver's own records (indexable and unpackable in this field order)
    rather than instances of this class: a rebuild reads millions, and building none is cheapest.
    """

    global_position: int
    type: str
    schema_version: int
    payload: str
    """The event's data as stored: JSON text, for the caller to decode as far as it needs."""


class InOrder(NamedTuple):
    """What :meth:`EventStore.append_in_order` did with one arrival.

    ``appended``: events appended — this one and the held ones that followed on without a gap
    (0 when it was held or already stored). ``held``: it came early and waits for the gap.
    """

    appended: int
    held: bool = False


class EventStoreError(Exception):
    """Base class of the store's errors."""


class WrongExpectedVersion(EventStoreError):
    """Another writer got this stream first: decide again on the stream as it is now.

    The one error of the race, whatever form it took: a version other than the
    one expected, or (:class:`StaleTransaction`) a transaction that began before
    the stream's last event. Callers catch this type only.
    """

    def __init__(
        self, stream_id: str, expected: ExpectedVersion, actual: int, message: str | None = None
    ) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        shown = expected.value if isinstance(expected, Expect) else expected
        super().__init__(
            message or f"stream {stream_id!r}: expected version {shown}, actual version {actual}"
        )


class DuplicateEventId(EventStoreError):
    """Some, but not all, of the event ids of an append are already stored elsewhere."""

    def __init__(self, event_ids: Sequence[UUID]) -> None:
        self.event_ids = tuple(event_ids)
        ids = ", ".join(str(i) for i in self.event_ids[:5])
        super().__init__(f"event ids already stored by a different append: {ids}")


class StaleTransaction(WrongExpectedVersion):
    """The surrounding transaction is older than the stream's last event; retry it anew.

    See docs/adr/0001-gap-free-global-order.md: positions come from the
    transaction id, so a transaction that began writing before the stream's last
    event was committed would place its event before that one in global order.
    A kind of :class:`WrongExpectedVersion`: the same race, seen from inside a
    caller's transaction.
    """

    def __init__(self, message: str, stream_id: str = "", expected: ExpectedVersion = Expect.ANY) -> None:
        super().__init__(stream_id, expected, -1, message)


class DivergentCopy(EventStoreError):
    """A copied stream holds a different event at this version than its source sent
    (:meth:`EventStore.append_in_order`): the copy and the source disagree, which no retry mends."""

    def __init__(self, stream_id: str, version: int, kept: UUID | None, sent: UUID) -> None:
        self.stream_id, self.version, self.kept, self.sent = stream_id, version, kept, sent
        super().__init__(f"{stream_id} version {version}: the log holds {kept}, the source sent {sent}")


class InvalidAppend(EventStoreError, ValueError):
    """The append itself is malformed (empty, too large, bad stream id)."""


def category_of(stream_id: str) -> str:
    """A stream's category: the part of its id before the first '-' (``airing-…`` → ``airing``)."""
    return stream_id.split("-", 1)[0]


def versions_after(stream_id: str, expected: ExpectedVersion, current: int) -> int:
    """Check ``expected`` against the stream's ``current`` version; return it when it holds."""
    if expected is Expect.ANY:
        return current
    wanted = 0 if expected is Expect.NO_STREAM else expected
    if not isinstance(wanted, int) or wanted < 0:
        raise InvalidAppend(f"expected version must be >= 0, Expect.ANY or Expect.NO_STREAM: {expected!r}")
    if current != wanted:
        raise WrongExpectedVersion(stream_id, expected, current)
    return current


MAX_STREAM_ID = 200
"""The longest stream id a store takes (characters)."""


def check_append(stream_id: str, events: Sequence[NewEvent]) -> None:
    """Refuse appends that no store could take, before anything is written."""
    if not stream_id or len(stream_id) > MAX_STREAM_ID:
        raise InvalidAppend(f"stream id must be 1..{MAX_STREAM_ID} characters: {stream_id!r}")
    if not events:
        raise InvalidAppend(f"nothing to append to stream {stream_id!r}")
    ids = [e.event_id for e in events]
    if len(set(ids)) != len(ids):
        raise InvalidAppend(f"the same event_id appears twice in one append to {stream_id!r}")


class EventStore(Protocol):
    """An append-only log of streams, read per stream or in one global order."""

    schema: str
    """The log's name: the PostgreSQL schema that holds it (``scheduler``, ``metrics``)."""

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = Expect.ANY,
    ) -> AppendResult:
        """Append ``events`` to ``stream_id`` atomically.

        Raises :class:`WrongExpectedVersion` when the stream is not at
        ``expected_version``. Re-sending events whose ids are all stored already
        writes nothing and returns the original positions (``duplicate=True``).
        """
        ...

    async def append_batch(self, appends: Sequence[StreamAppend]) -> list[AppendResult]:
        """Append to many streams in one atomic write (all or nothing)."""
        ...

    async def append_in_order(self, stream_id: str, event: NewEvent, version: int) -> InOrder:
        """Keep a copy of another log's stream in that stream's order: ``event`` is the source's
        event at ``version``, arriving in whatever order delivery brings it.

        - the stream's next version: appended, with every held event that now follows on
          without a gap, in one append;
        - a later version (an earlier one is still on its way): held, invisible to readers,
          until the gap before it is filled;
        - a version already stored: a redelivery, which writes nothing — unless the stored
          event is another one, which raises :class:`DivergentCopy`.

        Re-sending a held event holds it once. Concurrent arrivals of one stream queue on
        each other (docs/adr/0003-stream-order-across-services.md).
        """
        ...

    async def read_stream(
        self,
        stream_id: str,
        from_version: int = 1,
        limit: int | None = None,
        *,
        until: int | None = None,
    ) -> list[RecordedEvent]:
        """A stream's events from ``from_version`` on, in version order.

        ``until``: only events at or below this global position (the stream as it stood then).
        """
        ...

    async def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        *,
        types: Sequence[str] | None = None,
        category: str | None = None,
        until: int | None = None,
    ) -> list[RecordedEvent]:
        """Events after ``after_position`` in global order, optionally of some types or one category,
        and at or below ``until``.

        Never returns an event while an event with a lower position may still
        become visible (gap-free reading).
        """
        ...

    async def scan(
        self,
        after_position: int = 0,
        limit: int = 20_000,
        *,
        until: int | None = None,
        skip_parked: bool = False,
    ) -> Sequence[ScannedEvent]:
        """A page of the log after ``after_position`` (at or below ``until``) in global order, each
        event as its position, type, schema version and JSON payload — the whole-log pass of a
        rebuild, with no per-event decoding: the caller decodes what it needs.

        Gap-free as :meth:`read_all`. ``skip_parked``: leave out the events a subscription of
        this store parked (docs/adr/0004-poison-events.md), so that a rebuild gives the answer
        the live projection gives. Resume after the last position of a page; an empty page is
        the end.
        """
        ...

    async def read_positions(self, positions: Collection[int]) -> list[RecordedEvent]:
        """The events stored at ``positions`` (those that exist), in global order."""
        ...

    async def head_position(self) -> int:
        """The highest position a reader may safely have read up to now (0 when empty)."""
        ...

    async def last_position(
        self,
        *,
        types: Sequence[str] | None = None,
        category: str | None = None,
        recorded_until: datetime | None = None,
    ) -> int:
        """The highest safe position (as :meth:`head_position`) of an event of ``types`` /
        ``category``, recorded at or before ``recorded_until``; 0 when there is none."""
        ...

    async def stream_head(self, stream_id: str) -> int:
        """The stream's current version: the number of its events (0 when it has none)."""
        ...

    async def event_id_at(self, stream_id: str, version: int) -> UUID | None:
        """The id of the event at ``version`` of ``stream_id``, or None when there is none."""
        ...

    async def stored_event_ids(self, event_ids: Collection[UUID]) -> set[UUID]:
        """Which of ``event_ids`` are stored (in any stream): what a re-sent batch may leave out."""
        ...
