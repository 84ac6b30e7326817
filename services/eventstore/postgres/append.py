"""Appends to the PostgreSQL event store: one event, several, or a COPY batch over many streams.

The append rule's checks (version, stale transaction, at most 2^20 events per transaction) are one
SQL expression, ``{schema}.append_refusal`` (migration 0006), and positions are the transaction id
<< 20 plus the running index (ADR 0001). The common case, one event at an exact version in a
transaction of its own, is one plain INSERT on a warm connection, with the unique (stream_id,
stream_version) index as its arbiter: for a new stream, or at a version n this store has seen
committed (:class:`~services.eventstore.postgres.known.KnownVersions`), nothing more
(``one_known``); at another version, a probe of the stream's event n with that expression inlined
(``one_next``); refused, or failed, it goes the general way, which says why. Every other path
reserves its versions and positions with ``reserve_stream`` (which queues "any" appends on a lock,
reads the stream's last event and the running index, and calls ``append_refusal``), then writes its
rows: one statement for one stream, a COPY for a batch (after ``{schema}.reserve``, which takes the
batch's locks in key order and calls ``reserve_stream`` for each stream). Standalone appends retry
the races a fresh attempt settles; appends inside a caller's transaction report them as
:class:`StaleTransaction`, for the caller to run its transaction again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.eventstore.port import (
    MAX_STREAM_ID,
    AppendResult,
    DuplicateEventId,
    EventStoreError,
    Expect,
    ExpectedVersion,
    InvalidAppend,
    NewEvent,
    StaleTransaction,
    StreamAppend,
    WrongExpectedVersion,
    check_append,
    versions_after,
)
from services.eventstore.postgres.known import KnownVersions
from services.eventstore.postgres.warm import WarmConnections

MAX_EVENTS_PER_TRANSACTION = 1 << 20
_RETRIES = 8
# Races that a fresh attempt settles; the server rolled the transaction back.
_TRANSIENT = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
# A kept connection whose server went away; InternalClientError: the server's farewell arrived
# while the connection was idle, and the client is still consuming it when the append starts.
_CONNECTION_LOST = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.InternalClientError,
    ConnectionError,
)
# A standalone statement's first position: its transaction id << 20 (ADR 0001).
_POSITION = "(pg_current_xact_id()::text::bigint << 20)"
EVENT_COLUMNS = (
    "global_position",
    "stream_id",
    "stream_version",
    "event_id",
    "type",
    "schema_version",
    "data",
    "metadata",
    "occurred_at",
)


class AppendStatements:
    """The SQL of the append paths of one schema."""

    def __init__(self, schema: str) -> None:
        columns = ", ".join(EVENT_COLUMNS)
        # One event at an exact version n, standalone, no lock and no plpgsql. The unique
        # (stream_id, stream_version) index refuses version n + 1 if it is taken; that is the whole
        # check when version n is known to be there (n = 0, or a version this store saw committed):
        # append_refusal's other checks cannot refuse a transaction of its own (index 0, one event)
        # whose id is assigned here, after event n committed. Otherwise the probe of event n adds
        # the rule's checks (append_refusal, inlined) against it; together they mean "the stream is
        # at version n". Two statements rather than a CASE on n: a CASE around the probe made
        # PostgreSQL run it as a per-row subplan, about 6 µs of backend CPU more per append
        # (issue 12). No row, or a unique violation: refused, and the general path asks
        # reserve_stream why.
        self.one_known = (
            f"insert into {schema}.events ({columns}) "
            f"values ({_POSITION}, $1, ($2::bigint + 1)::integer, $3, $4, $5, $6, $7, $8) "
            "returning global_position"
        )
        self.one_next = (
            f"insert into {schema}.events ({columns}) "
            f"select {_POSITION}, $1, ($2::bigint + 1)::integer, $3, $4, $5, $6, $7, $8 "
            f"where exists (select from {schema}.events e "
            "where e.stream_id = $1 and e.stream_version = $2 and "
            f"{schema}.append_refusal($2, e.stream_version, e.global_position, {_POSITION}, 0, 1) is null) "
            "returning global_position"
        )
        self.one = (
            # One event: scalar arguments spare the client the array encoding, the server the unnest.
            f"insert into {schema}.events ({columns}) "
            "select r.out_position, $1, r.out_version, $3, $4, $5, $6, $7, $8 "
            f"from {schema}.reserve_stream($1::text, $2::bigint, 1) as r "
            "returning global_position, stream_version"
        )
        self.many = (
            f"insert into {schema}.events ({columns}) "
            "select r.out_position + u.ord - 1, $1, r.out_version + u.ord::integer - 1, "
            "u.id, u.t, u.sv, u.d, u.m, u.o "
            f"from {schema}.reserve_stream($1::text, $2::bigint, cardinality($3::uuid[])) as r, "
            "unnest($3::uuid[], $4::text[], $5::integer[], $6::jsonb[], $7::jsonb[], $8::timestamptz[]) "
            "with ordinality as u(id, t, sv, d, m, o, ord) "
            "returning global_position, stream_version"
        )
        self.reserve = (
            f"select out_version, out_position from {schema}.reserve($1::text[], $2::bigint[], $3::integer[])"
        )
        self.originals = (
            f"select event_id, stream_id, stream_version, global_position from {schema}.events "
            "where event_id = any($1::uuid[])"
        )
        self.versions = (
            f"select sid, coalesce((select max(stream_version) from {schema}.events "
            "where stream_id = sid), 0) from unnest($1::text[]) as sid"
        )


class EventAppends:
    """The write half of :class:`~services.eventstore.postgres.PostgresEventStore` (which also
    provides ``stored_event_ids`` and ``notify_appended``)."""

    pool: asyncpg.Pool
    schema: str
    _statements: AppendStatements
    _warm: WarmConnections
    _known: KnownVersions

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = Expect.ANY,
        *,
        connection: asyncpg.Connection | None = None,
    ) -> AppendResult:
        """Append to one stream (see :class:`~services.eventstore.port.EventStore`).

        With ``connection`` the append joins the caller's open transaction: it
        must then be the transaction's first write (else :class:`StaleTransaction`
        may ask for a retry), and the caller calls :meth:`notify_appended` after
        commit. Without it the append is its own transaction and retries races.
        """
        if connection is None and len(events) == 1:
            # The common case first, with no more Python than it needs: with 16 writers every
            # microsecond here showed in the bench. What it does not take (an "any" append, a
            # stream id check_append refuses) goes the general way, which says why.
            expected = 0 if expected_version is Expect.NO_STREAM else expected_version
            if type(expected) is int and expected >= 0 and stream_id and len(stream_id) <= MAX_STREAM_ID:
                appended = await self._one_at_version(stream_id, events[0], expected)
                if appended is not None:
                    return appended
                # Refused, or the statement failed: the general path appends or says why.
        check_append(stream_id, events)
        if len(events) > MAX_EVENTS_PER_TRANSACTION:
            raise InvalidAppend(f"at most {MAX_EVENTS_PER_TRANSACTION} events per append")
        expected = _expected_code(expected_version)
        if len(events) == 1:
            [e] = events
            sql = self._statements.one
            args: tuple = (
                stream_id, expected, e.event_id, e.type, e.schema_version, e.data, e.metadata, e.occurred_at,
            )  # fmt: skip
        else:
            sql = self._statements.many
            args = (
                stream_id,
                expected,
                [e.event_id for e in events],
                [e.type for e in events],
                [e.schema_version for e in events],
                [e.data for e in events],
                [e.metadata for e in events],
                [e.occurred_at for e in events],
            )
        if connection is not None:
            item = (StreamAppend(stream_id, events, expected_version),)
            # Look first: a clash on the unique index would spoil the caller's transaction.
            if await self.stored_event_ids([e.event_id for e in events], connection=connection):
                [result] = await self._originals(item, connection)
                return result
            try:
                return await _insert(connection, sql, args, stream_id)
            except asyncpg.PostgresError as exc:
                raise await self._refused_in_transaction(exc, item) from None
        lost: BaseException | None = None
        for attempt in range(_RETRIES):
            conn = await self._warm.take()
            try:
                result = await _insert(conn, sql, args, stream_id)
            except BaseException as exc:
                self._warm.discard(conn)
                if isinstance(exc, _CONNECTION_LOST) and lost is None:
                    # A kept connection whose server went away (a restart, a terminated backend):
                    # once more on a fresh one. Safe: if the append did commit, its event ids answer.
                    lost = exc
                    continue
                if not isinstance(exc, asyncpg.PostgresError):
                    raise
                # Settled here, with the connection back in the pool: holding one while asking
                # the pool for another deadlocks once every holder does it.
                item = (StreamAppend(stream_id, events, expected_version),)
                try:
                    if await self._refused(exc, item):
                        await _pause(attempt)
                        continue
                except _AlreadyStored:
                    [result] = await self._originals(item)
                    return result
                raise
            self._warm.give_back(conn)
            self.notify_appended()
            self._known.saw(stream_id, result.last_version)
            return result
        raise EventStoreError(f"stream {stream_id!r}: append kept racing, gave up after {_RETRIES} tries")

    async def _one_at_version(self, stream_id: str, e: NewEvent, expected: int) -> AppendResult | None:
        """One event at version ``expected`` + 1 in a transaction of its own: one statement
        (``one_known`` or ``one_next``) on a warm connection. None when the statement inserted
        nothing or failed in a way the general path settles (a race, a re-send, a lost connection);
        the general path then runs the append again, which its event id makes safe."""
        known = self._known
        sql = self._statements.one_known if known.has(stream_id, expected) else self._statements.one_next
        conn = await self._warm.take()
        try:
            position = await conn.fetchval(
                sql,
                stream_id,
                expected,
                e.event_id,
                e.type,
                e.schema_version,
                e.data,
                e.metadata,
                e.occurred_at,
            )
        except _CONNECTION_LOST:  # (before PostgresError: a server shutting down is one too)
            self._warm.discard(conn)
            return None
        except asyncpg.PostgresError:
            # Refused by an index (a writer took the version first, or this event is stored): the
            # statement's transaction is over and the connection is as good as before.
            self._warm.give_back(conn)
            return None
        except BaseException:
            self._warm.discard(conn)
            raise
        self._warm.give_back(conn)
        if position is None:
            return None
        self.notify_appended()
        version = expected + 1
        known.saw(stream_id, version)
        return AppendResult(stream_id, version, version, (position,))

    async def append_batch(
        self, appends: Sequence[StreamAppend], *, connection: asyncpg.Connection | None = None
    ) -> list[AppendResult]:
        """Append to many streams in one transaction with a single COPY (all or nothing)."""
        if not appends:
            return []
        total = 0
        seen: set[UUID] = set()
        for item in appends:
            check_append(item.stream_id, item.events)
            total += len(item.events)
            seen.update(e.event_id for e in item.events)
        if len(seen) != total:
            raise InvalidAppend("the same event_id appears twice in one batch")
        if total > MAX_EVENTS_PER_TRANSACTION:
            raise InvalidAppend(f"at most {MAX_EVENTS_PER_TRANSACTION} events per batch")
        if connection is not None:
            try:
                return await self._batch_once(connection, appends)
            except asyncpg.PostgresError as exc:
                raise await self._refused_in_transaction(exc, appends) from None
        for attempt in range(_RETRIES):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    results = await self._batch_once(conn, appends)
            except asyncpg.PostgresError as exc:
                try:
                    if await self._refused(exc, appends):
                        await _pause(attempt)
                        continue
                except _AlreadyStored:
                    return await self._originals(appends)
                raise
            self.notify_appended()
            for result in results:
                self._known.saw(result.stream_id, result.last_version)
            return results
        raise EventStoreError(f"batch append kept racing, gave up after {_RETRIES} tries")

    async def _batch_once(
        self, conn: asyncpg.Connection, appends: Sequence[StreamAppend]
    ) -> list[AppendResult]:
        reserved = await conn.fetch(
            self._statements.reserve,
            [a.stream_id for a in appends],
            [_expected_code(a.expected_version) for a in appends],
            [len(a.events) for a in appends],
        )
        records = []
        add = records.append
        results = []
        for (stream_id, events, _), (first_version, first_position) in zip(appends, reserved, strict=True):
            version, position = first_version, first_position
            for e in events:
                add((position, stream_id, version, e.event_id, e.type,
                     e.schema_version, e.data, e.metadata, e.occurred_at))  # fmt: skip
                version += 1
                position += 1
            results.append(
                AppendResult(stream_id, first_version, version - 1, tuple(range(first_position, position)))
            )
        if len(appends) > 1:
            # One fixed order for the rows (by stream id): two batches naming the same streams wait
            # for each other on the unique index instead of deadlocking.
            records.sort(key=_by_stream)
        await conn.copy_records_to_table(
            "events", schema_name=self.schema, records=records, columns=EVENT_COLUMNS
        )
        return results

    async def _refused(self, exc: asyncpg.PostgresError, appends: Sequence[StreamAppend]) -> bool:
        """What a refused standalone append means: True when another attempt settles it, else the
        error to raise (:class:`_AlreadyStored` for a re-send). The attempt's transaction is over."""
        code = exc.sqlstate
        if isinstance(exc, _TRANSIENT) or code == "LOA03":
            # LOA03: a writer with a newer transaction id committed to the stream first; the
            # version check had passed, so the same append may go again.
            return True
        if code == "LOA04":
            raise InvalidAppend(str(exc)) from None
        if code == "LOA01":
            if await self.stored_event_ids([e.event_id for a in appends for e in a.events]):
                raise _AlreadyStored from None  # a re-send finds the stream moved on by itself
            item = appends[int(exc.hint) - 1]
            raise WrongExpectedVersion(item.stream_id, item.expected_version, int(exc.detail)) from None
        if isinstance(exc, asyncpg.UniqueViolationError):
            if exc.constraint_name == "events_event_id_key":
                raise _AlreadyStored from None
            if exc.constraint_name == "events_stream_version_key":
                # Another writer took the same version between the check and the insert, or (a
                # single exact-version append, whose version the unique index checks) the stream
                # had moved on, perhaps by this very append sent before.
                if await self.stored_event_ids([e.event_id for a in appends for e in a.events]):
                    raise _AlreadyStored from None
                conflict = await self._conflict(appends)
                if conflict is not None:
                    raise conflict from None
                return True
        return False

    async def _refused_in_transaction(
        self, exc: asyncpg.PostgresError, appends: Sequence[StreamAppend]
    ) -> Exception:
        """The error a refused append inside a caller's transaction raises; that transaction is
        spoiled, so a race becomes :class:`StaleTransaction`: the caller runs it again."""
        code = exc.sqlstate
        first = appends[0]
        if isinstance(exc, _TRANSIENT):
            return StaleTransaction(f"{type(exc).__name__}: {exc}", first.stream_id, first.expected_version)
        if code in ("LOA01", "LOA03"):
            item = appends[int(exc.hint) - 1]
            if code == "LOA03":
                return StaleTransaction(str(exc), item.stream_id, item.expected_version)
            return WrongExpectedVersion(item.stream_id, item.expected_version, int(exc.detail))
        if code == "LOA04":
            return InvalidAppend(str(exc))
        if (
            isinstance(exc, asyncpg.UniqueViolationError)
            and exc.constraint_name == "events_stream_version_key"
        ):
            conflict = await self._conflict(appends)
            return conflict or StaleTransaction("a concurrent append took the stream's next version")
        return exc

    async def _conflict(self, appends: Sequence[StreamAppend]) -> WrongExpectedVersion | None:
        """The first exact-version append that the streams as they are now refuse, if any."""
        exact = [a for a in appends if a.expected_version is not Expect.ANY]
        if not exact:
            return None
        async with self.pool.acquire() as conn:
            current = dict(await conn.fetch(self._statements.versions, list({a.stream_id for a in exact})))
        pending: dict[str, int] = {}
        for item in appends:
            version = pending.get(item.stream_id, current.get(item.stream_id, 0))
            if item.expected_version is not Expect.ANY:
                try:
                    versions_after(item.stream_id, item.expected_version, version)
                except WrongExpectedVersion as exc:
                    return exc
            pending[item.stream_id] = version + len(item.events)
        return None

    async def _originals(
        self, appends: Sequence[StreamAppend], connection: asyncpg.Connection | None = None
    ) -> list[AppendResult]:
        """Appends re-sent after they were stored: answer with the original positions.

        Raises :class:`DuplicateEventId` when only some ids are stored, or in another stream.
        """
        ids = [e.event_id for a in appends for e in a.events]
        if connection is not None:
            rows = await connection.fetch(self._statements.originals, ids)
        else:
            async with self.pool.acquire() as conn:
                rows = await conn.fetch(self._statements.originals, ids)
        found = {r[0]: r for r in rows}
        if len(found) != len(ids):
            raise DuplicateEventId(list(found))
        results = []
        for item in appends:
            mine = [found[e.event_id] for e in item.events]
            if any(r[1] != item.stream_id for r in mine):
                raise DuplicateEventId([r[0] for r in mine])
            results.append(
                AppendResult(
                    item.stream_id, mine[0][2], mine[-1][2], tuple(r[3] for r in mine), duplicate=True
                )
            )
        return results


async def _insert(conn: asyncpg.Connection, sql: str, args: tuple, stream_id: str) -> AppendResult:
    rows = await conn.fetch(sql, *args)
    if len(rows) == 1:
        position, version = rows[0]
        return AppendResult(stream_id, version, version, (position,))
    rows.sort(key=_version)
    return AppendResult(stream_id, rows[0][1], rows[-1][1], tuple(r[0] for r in rows))


def _expected_code(expected: ExpectedVersion) -> int:
    """The expected version as ``reserve`` takes it: -1 any, 0 no stream, n exactly n."""
    if expected is Expect.ANY:
        return -1
    if expected is Expect.NO_STREAM:
        return 0
    if not isinstance(expected, int) or expected < 0:
        raise InvalidAppend(f"expected version must be >= 0, Expect.ANY or Expect.NO_STREAM: {expected!r}")
    return expected


def _version(row: asyncpg.Record) -> int:
    return row[1]


def _by_stream(record: tuple) -> tuple[str, int]:
    return record[1], record[2]


async def _pause(attempt: int) -> None:
    """Back off before another attempt, with jitter so that racing writers fall out of step."""
    await asyncio.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))


class _AlreadyStored(Exception):
    """Some event id of a standalone append is stored: a re-send, or a clash."""
