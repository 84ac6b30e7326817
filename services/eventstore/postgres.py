"""The PostgreSQL event store (asyncpg).

One append is one round trip to a plpgsql function (``append_events``); a batch
append is one transaction with a COPY. Readers only see positions below the
oldest transaction still in flight, so they never pass an event that commits
later (docs/adr/0001-gap-free-global-order.md).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import orjson
import structlog

from services.eventstore.migrate import check_schema_name, migrate
from services.eventstore.port import (
    AppendResult,
    DuplicateEventId,
    EventStoreError,
    Expect,
    ExpectedVersion,
    InvalidAppend,
    NewEvent,
    RawJson,
    RecordedEvent,
    StaleTransaction,
    StreamAppend,
    WrongExpectedVersion,
    check_append,
    versions_after,
)

log = structlog.get_logger(__name__)

MAX_EVENTS_PER_TRANSACTION = 1 << 20
_RETRIES = 8
# Races that a fresh attempt settles; the server rolled the transaction back.
_TRANSIENT = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
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


def _jsonb_encode(value: Any) -> bytes:
    if type(value) is RawJson:
        return b"\x01" + value  # jsonb's binary format: version 1, then JSON text
    return b"\x01" + orjson.dumps(value)


def _jsonb_decode(data: bytes) -> Any:
    return orjson.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection setup: JSON columns travel as Python objects, encoded with orjson.

    The binary jsonb format lets COPY carry JSON without a text round trip.
    """
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "json", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
    )


async def _release(conn: asyncpg.Connection) -> None:
    """Make a connection fit for its next user, without a round trip when it is clean.

    asyncpg's default sends ``RESET ALL; UNLISTEN *; CLOSE ALL; …`` on every
    release: one more round trip per append. The store leaves no session state
    behind (its settings and locks are transaction-local, its listeners removed),
    so only an unfinished transaction needs undoing.
    """
    if conn.is_in_transaction():
        await conn.execute("rollback")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
    """A pool whose connections carry the JSON codecs the store expects."""
    return await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=init_connection, reset=_release, **kwargs
    )


def _expected_code(expected: ExpectedVersion) -> int:
    if expected is Expect.ANY:
        return -1
    if expected is Expect.NO_STREAM:
        return 0
    if not isinstance(expected, int) or expected < 0:
        raise InvalidAppend(f"expected version must be >= 0, Expect.ANY or Expect.NO_STREAM: {expected!r}")
    return expected


class PostgresEventStore:
    """The event store of one service, kept in that service's schema."""

    def __init__(self, pool: asyncpg.Pool, schema: str = "eventstore") -> None:
        self.pool = pool
        self.schema = check_schema_name(schema)
        self.channel = f"loa_events_{schema}"
        self._notifier = _Notifier(pool, self.channel)
        s = self.schema
        self._sql_append = (
            f"select out_position, out_version, out_duplicate "
            f"from {s}.append_events($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        self._sql_append_one = (
            f"select out_position, out_version, out_duplicate "
            f"from {s}.append_event($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        # The hot path, a standalone one-event append, as one plain statement: no
        # function call, no transaction-local index (the statement is its own
        # transaction, so the index is 0). No row back means the version check
        # failed; the error path finds out why.
        self._sql_insert_one = f"""
            with head as (
                select coalesce(h.stream_version, 0) as version, h.global_position as last,
                       pg_current_xact_id()::text::bigint << 20 as base
                from (select 1) as one left join lateral (
                    select stream_version, global_position from {s}.events
                    where stream_id = $1 order by stream_version desc limit 1
                ) as h on true
            )
            insert into {s}.events (global_position, stream_id, stream_version, event_id, type,
                                    schema_version, data, metadata, occurred_at)
            select base, $1, version + 1, $3, $4, $5, $6, $7, $8 from head
            where ($2 < 0 or version = $2) and (last is null or last < base)
            returning global_position, stream_version"""
        self.select_columns = self._sql_select = (
            # Columns in RecordedEvent's field order, so that a row becomes one without lookups.
            f"select event_id, stream_id, stream_version, global_position, type, schema_version, "
            f"data, metadata, occurred_at, recorded_at from {s}.events"
        )
        self._sql_safe = f"{s}.safe_position()"
        # The same per-stream key as append_events, taken in key order.
        self._sql_lock_streams = (
            "select count(pg_advisory_xact_lock(k)) from ("
            "select distinct hashtextextended(sid, 0) as k from unnest($1::text[]) as sid order by k) as keys"
        )

    async def migrate(self) -> list[int]:
        """Apply pending migrations of this store's schema."""
        async with self.pool.acquire() as conn:
            return await migrate(conn, self.schema)

    # -- writing ------------------------------------------------------------------
    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = Expect.ANY,
        *,
        connection: asyncpg.Connection | None = None,
    ) -> AppendResult:
        """Append to one stream (see :class:`EventStore`).

        With ``connection`` the append joins the caller's open transaction: it
        must then be the transaction's first write (else :class:`StaleTransaction`
        may ask for a retry), and the caller calls :meth:`notify_appended` after
        commit. Without it the append is its own transaction and retries races.
        """
        check_append(stream_id, events)
        if len(events) > MAX_EVENTS_PER_TRANSACTION:
            raise InvalidAppend(f"at most {MAX_EVENTS_PER_TRANSACTION} events per append")
        expected = _expected_code(expected_version)
        if len(events) == 1:
            [e] = events
            sql = self._sql_append_one
            args: tuple = (
                stream_id,
                expected,
                e.event_id,
                e.type,
                e.schema_version,
                e.data,
                e.metadata,
                e.occurred_at,
            )
        else:
            sql = self._sql_append
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
        ids = [e.event_id for e in events]
        if connection is not None:
            return await self._append_once(connection, sql, stream_id, expected_version, (*args, True), ids)
        for attempt in range(_RETRIES):
            try:
                async with self.pool.acquire() as conn:
                    if len(events) == 1 and expected_version is not Expect.ANY:
                        # "any" appends go through the function, which queues them per stream.
                        result = await self._insert_one(conn, stream_id, expected_version, args, ids)
                    else:
                        result = await self._append_once(
                            conn, sql, stream_id, expected_version, (*args, False), ids
                        )
            except (_Retry, StaleTransaction, *_TRANSIENT):
                # StaleTransaction: a writer with a newer transaction id committed to the
                # stream first; the version check had passed, so the same append may go again.
                await _pause(attempt)
                continue
            except _AlreadyStored:
                return await self._originals(stream_id, ids)
            if not result.duplicate:
                self._notifier.poke()
            return result
        raise EventStoreError(f"stream {stream_id!r}: append kept racing, gave up after {_RETRIES} tries")

    async def _append_once(
        self,
        conn: asyncpg.Connection,
        sql: str,
        stream_id: str,
        expected: ExpectedVersion,
        args: tuple,
        ids: list[UUID],
    ) -> AppendResult:
        try:
            rows = await conn.fetch(sql, *args)
        except asyncpg.PostgresError as exc:
            await self._raise_for(conn, exc, stream_id, expected, ids)
            raise
        rows.sort(key=lambda r: r["out_version"])
        return AppendResult(
            stream_id,
            rows[0]["out_version"],
            rows[-1]["out_version"],
            tuple(r["out_position"] for r in rows),
            duplicate=rows[0]["out_duplicate"],
        )

    async def _insert_one(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        expected: ExpectedVersion,
        args: tuple,
        ids: list[UUID],
    ) -> AppendResult:
        try:
            row = await conn.fetchrow(self._sql_insert_one, *args)
        except asyncpg.PostgresError as exc:
            await self._raise_for(conn, exc, stream_id, expected, ids)
            raise
        if row is None:
            if await self._any_stored(conn, ids):
                raise _AlreadyStored
            actual = await self._current_version(stream_id, conn)
            if expected is not Expect.ANY and actual != _expected_code(expected):
                raise WrongExpectedVersion(stream_id, expected, actual)
            raise _Retry  # the stream moved between the statement and this look
        version = row[1]
        return AppendResult(stream_id, version, version, (row[0],))

    async def _any_stored(self, conn: asyncpg.Connection, event_ids: list[UUID]) -> bool:
        sql = f"select exists (select 1 from {self.schema}.events where event_id = any($1::uuid[]))"
        return await conn.fetchval(sql, event_ids)

    async def _raise_for(
        self,
        conn: asyncpg.Connection,
        exc: asyncpg.PostgresError,
        stream_id: str,
        expected: ExpectedVersion,
        event_ids: list[UUID],
    ) -> None:
        code = exc.sqlstate
        if code == "LOA01":
            if not conn.is_in_transaction() and await self._any_stored(conn, event_ids):
                raise _AlreadyStored from None  # a re-send finds the stream moved on by itself
            raise WrongExpectedVersion(stream_id, expected, int(exc.detail)) from None
        if code == "LOA02":
            raise DuplicateEventId([UUID(i) for i in (exc.detail or "").split(",") if i]) from None
        if code == "LOA03":
            raise StaleTransaction(str(exc), stream_id, expected) from None
        if code == "LOA04":
            raise InvalidAppend(str(exc)) from None
        if isinstance(exc, asyncpg.UniqueViolationError):
            if exc.constraint_name == "events_stream_version_key":
                # Another writer took the same version between our read and insert.
                if expected is Expect.ANY and not conn.is_in_transaction():
                    raise _Retry from None
                actual = await self._current_version(stream_id, conn)
                raise WrongExpectedVersion(stream_id, expected, actual) from None
            if exc.constraint_name == "events_event_id_key" and not conn.is_in_transaction():
                raise _AlreadyStored from None

    async def _originals(self, stream_id: str, event_ids: list[UUID]) -> AppendResult:
        """Answer a re-sent append with the positions of the original one."""
        [result] = await self._batch_originals([StreamAppend(stream_id, [_Id(i) for i in event_ids])])
        return result

    async def _current_version(self, stream_id: str, conn: asyncpg.Connection | None = None) -> int:
        """The stream's version, read on ``conn`` when the caller holds a usable one: asking the
        pool for a second connection while holding one deadlocks once every holder does it."""
        sql = f"select max(stream_version) from {self.schema}.events where stream_id = $1"
        if conn is not None and not conn.is_in_transaction():
            return await conn.fetchval(sql, stream_id) or 0
        async with self.pool.acquire() as other:
            return await other.fetchval(sql, stream_id) or 0

    async def append_batch(
        self, appends: Sequence[StreamAppend], *, connection: asyncpg.Connection | None = None
    ) -> list[AppendResult]:
        """Append to many streams in one transaction with a single COPY."""
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
                return await self._batch_once(connection, appends, total)
            except _TRANSIENT as exc:
                # The caller's transaction is rolled back; running it again settles the race.
                raise StaleTransaction(f"{type(exc).__name__}: {exc}", appends[0].stream_id) from exc
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name == "events_stream_version_key" and all(
                    a.expected_version is Expect.ANY for a in appends
                ):
                    # Another writer took the next version first: the caller's transaction is
                    # spoiled; running it again appends after that writer.
                    raise StaleTransaction("a concurrent append took the stream's next version") from exc
                raise
        for attempt in range(_RETRIES):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    results = await self._batch_once(conn, appends, total)
            except (_Retry, StaleTransaction, *_TRANSIENT):
                await _pause(attempt)
                continue
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name == "events_event_id_key":
                    return await self._batch_originals(appends)
                if exc.constraint_name == "events_stream_version_key":
                    if all(a.expected_version is Expect.ANY for a in appends):
                        await _pause(attempt)
                        continue
                    raise await self._batch_conflict(appends) from None
                raise
            self._notifier.poke()
            return results
        raise EventStoreError(f"batch append kept racing, gave up after {_RETRIES} tries")

    async def _batch_once(
        self, conn: asyncpg.Connection, appends: Sequence[StreamAppend], total: int
    ) -> list[AppendResult]:
        s = self.schema
        # One fixed order for the locks (by key) and for the rows of the COPY (by stream id):
        # two batches naming the same streams wait for each other instead of deadlocking.
        streams = list(dict.fromkeys(a.stream_id for a in appends))
        queued = [a.stream_id for a in appends if a.expected_version is Expect.ANY]
        if queued:
            # "any" appends queue per stream, as append_events does, before the transaction id
            # (and so the position) is taken: the writer ahead has committed by then.
            await conn.execute(self._sql_lock_streams, queued)
        heads = {
            r["stream_id"]: (r["version"], r["position"])
            for r in await conn.fetch(
                # Each stream's last event by one backward index probe, however long the streams
                # (DISTINCT ON would read and sort every event of every stream named).
                f"""select h.stream_id, h.stream_version as version, h.global_position as position
                    from unnest($1::text[]) as named(stream_id) cross join lateral (
                        select stream_id, stream_version, global_position from {s}.events e
                        where e.stream_id = named.stream_id order by stream_version desc limit 1
                    ) as h""",
                streams,
            )
        }
        base = await conn.fetchval(
            """select (pg_current_xact_id()::text::bigint << 20)
                      + coalesce(nullif(current_setting('loa.position_index', true), ''), '0')::bigint""",
        )
        index = base & (MAX_EVENTS_PER_TRANSACTION - 1)
        if index + total > MAX_EVENTS_PER_TRANSACTION:
            raise InvalidAppend(f"at most {MAX_EVENTS_PER_TRANSACTION} events per transaction")
        await conn.execute("select set_config('loa.position_index', $1, true)", str(index + total))
        records = []
        results = []
        position = base
        current = {sid: head[0] for sid, head in heads.items()}
        add = records.append
        for stream_id, events, expected in appends:
            head = heads.get(stream_id)
            if head is not None and head[1] >= base:
                raise StaleTransaction(
                    f"transaction is older than the last event of {stream_id!r}", stream_id, expected
                )
            version = current.get(stream_id, 0)
            if expected is not Expect.ANY:
                versions_after(stream_id, expected, version)
            first = position
            for e in events:
                version += 1
                add((position, stream_id, version, e.event_id, e.type,
                     e.schema_version, e.data, e.metadata, e.occurred_at))  # fmt: skip
                position += 1
            current[stream_id] = version
            results.append(
                AppendResult(stream_id, version - len(events) + 1, version, tuple(range(first, position)))
            )
        if len(streams) > 1:
            records.sort(key=_by_stream)
        await conn.copy_records_to_table("events", schema_name=s, records=records, columns=EVENT_COLUMNS)
        return results

    async def _batch_originals(self, appends: Sequence[StreamAppend]) -> list[AppendResult]:
        """Appends re-sent after they were stored: answer with the original positions.

        Raises :class:`DuplicateEventId` when only some ids are stored, or in another stream.
        """
        ids = [e.event_id for a in appends for e in a.events]
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"select event_id, stream_id, stream_version, global_position from {self.schema}.events "
                "where event_id = any($1::uuid[])",
                ids,
            )
        found = {r["event_id"]: r for r in rows}
        if len(found) != len(ids):
            raise DuplicateEventId(list(found))
        results = []
        for item in appends:
            mine = [found[e.event_id] for e in item.events]
            if any(r["stream_id"] != item.stream_id for r in mine):
                raise DuplicateEventId([r["event_id"] for r in mine])
            results.append(
                AppendResult(
                    item.stream_id,
                    mine[0]["stream_version"],
                    mine[-1]["stream_version"],
                    tuple(r["global_position"] for r in mine),
                    duplicate=True,
                )
            )
        return results

    async def _batch_conflict(self, appends: Sequence[StreamAppend]) -> WrongExpectedVersion:
        for item in appends:
            if item.expected_version is Expect.ANY:
                continue
            actual = await self._current_version(item.stream_id)
            try:
                versions_after(item.stream_id, item.expected_version, actual)
            except WrongExpectedVersion as exc:
                return exc
        return WrongExpectedVersion(appends[0].stream_id, appends[0].expected_version, -1)

    def notify_appended(self) -> None:
        """Wake subscribers after a caller committed a transaction that appended events."""
        self._notifier.poke()

    async def close(self) -> None:
        await self._notifier.close()

    # -- reading ------------------------------------------------------------------
    async def read_stream(
        self,
        stream_id: str,
        from_version: int = 1,
        limit: int | None = None,
        *,
        until: int | None = None,
    ) -> list[RecordedEvent]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"{self._sql_select} where stream_id = $1 and stream_version >= $2 "
                "and ($4::bigint is null or global_position <= $4) "
                "order by stream_version limit $3",
                stream_id,
                from_version,
                limit,
                until,
            )
        return [_recorded(r) for r in rows]

    async def read_streams(
        self, stream_ids: Sequence[str], after: Mapping[str, int] | None = None
    ) -> dict[str, list[RecordedEvent]]:
        """Several streams in one query (a fan-out's schedules), each after the version already known."""
        out: dict[str, list[RecordedEvent]] = {sid: [] for sid in stream_ids}
        known = after or {}
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"""{self._sql_select} e
                    join unnest($1::text[], $2::bigint[]) as f(sid, after)
                      on e.stream_id = f.sid and e.stream_version > f.after
                    order by e.stream_id, e.stream_version""",
                list(out),
                [known.get(sid, 0) for sid in out],
            )
        for r in rows:
            out[r["stream_id"]].append(_recorded(r))
        return out

    async def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        *,
        types: Sequence[str] | None = None,
        category: str | None = None,
        until: int | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> list[RecordedEvent]:
        filters, extra = self.filters(types, category, first_parameter=3)
        if until is not None:
            extra.append(until)
            filters += f" and global_position <= ${3 + len(extra) - 1}"
        # The safe bound filters outside the ordered, limited scan: inside it, the
        # planner cannot estimate the bound and falls back to sorting the whole range.
        # One statement, one snapshot: the bound and the rows agree.
        sql = (
            f"select * from ({self._sql_select} where global_position > $1{filters} "
            f"order by global_position limit $2) e where e.global_position < (select {self._sql_safe})"
        )
        rows = await self._fetch(connection, sql, after_position, limit, *extra)
        return [_recorded(r) for r in rows]

    async def read_positions(
        self, positions: Collection[int], *, connection: asyncpg.Connection | None = None
    ) -> list[RecordedEvent]:
        sql = f"{self._sql_select} where global_position = any($1::bigint[]) order by global_position"
        return [_recorded(r) for r in await self._fetch(connection, sql, list(positions))]

    async def last_position(
        self,
        *,
        types: Sequence[str] | None = None,
        category: str | None = None,
        recorded_until: datetime | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> int:
        filters, extra = self.filters(types, category, first_parameter=1)
        if recorded_until is not None:
            extra.append(recorded_until)
            filters += f" and recorded_at <= ${len(extra)}"
        sql = (
            f"select max(global_position) from {self.schema}.events "
            f"where global_position < {self._sql_safe}{filters}"
        )
        rows = await self._fetch(connection, sql, *extra)
        return rows[0][0] or 0

    async def stream_head(self, stream_id: str, *, connection: asyncpg.Connection | None = None) -> int:
        """See :class:`EventStore`; with ``connection``, read inside the caller's transaction."""
        sql = f"select max(stream_version) from {self.schema}.events where stream_id = $1"
        rows = await self._fetch(connection, sql, stream_id)
        return rows[0][0] or 0

    async def event_id_at(
        self, stream_id: str, version: int, *, connection: asyncpg.Connection | None = None
    ) -> UUID | None:
        sql = f"select event_id from {self.schema}.events where stream_id = $1 and stream_version = $2"
        rows = await self._fetch(connection, sql, stream_id, version)
        return rows[0][0] if rows else None

    async def stored_event_ids(
        self, event_ids: Collection[UUID], *, connection: asyncpg.Connection | None = None
    ) -> set[UUID]:
        sql = f"select event_id from {self.schema}.events where event_id = any($1::uuid[])"
        return {r[0] for r in await self._fetch(connection, sql, list(event_ids))}

    async def _fetch(self, connection: asyncpg.Connection | None, sql: str, *args: Any) -> list:
        """Run a read on the caller's connection (inside its transaction) or on a pooled one."""
        if connection is not None:
            return await connection.fetch(sql, *args)
        async with self.pool.acquire() as conn:
            return await conn.fetch(sql, *args)

    @staticmethod
    def filters(
        types: Sequence[str] | None, category: str | None, *, first_parameter: int
    ) -> tuple[str, list[Any]]:
        """SQL conditions (`` and …``) and their arguments for reads by type and by category."""
        sql, args = "", []
        if types:
            args.append(list(types))
            sql += f" and type = any(${first_parameter + len(args) - 1}::text[])"
        if category is not None:
            args.append(category)
            sql += f" and split_part(stream_id, '-', 1) = ${first_parameter + len(args) - 1}"
        return sql, args

    async def head_position(self) -> int:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval(
                f"select max(global_position) from {self.schema}.events "
                f"where global_position < {self._sql_safe}"
            )
        return value or 0

    @asynccontextmanager
    async def listen(self, callback):
        """Hold a pooled connection that LISTENs on this store's channel.

        ``callback()`` runs on every wake-up; the connection goes back to the pool
        (without its listener) when the block ends.
        """

        def on_notify(*_: object) -> None:
            callback()

        async with self.pool.acquire() as conn:
            await conn.add_listener(self.channel, on_notify)
            try:
                yield conn
            finally:
                if not conn.is_closed():
                    await conn.remove_listener(self.channel, on_notify)


_recorded = RecordedEvent._make


def _by_stream(record: tuple) -> tuple[str, int]:
    return record[1], record[2]


async def _pause(attempt: int) -> None:
    """Back off before another attempt, with jitter so that racing writers fall out of step."""
    await asyncio.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))


class _Id(NamedTuple):
    """Just an event id, where only ids are needed."""

    event_id: UUID


class _Retry(Exception):
    """A race with another writer that a fresh attempt will settle."""


class _AlreadyStored(Exception):
    """Some event id of a standalone append is stored: a re-send, or a clash."""


class _Notifier:
    """Sends NOTIFY after commits, coalesced, outside the appending transaction.

    NOTIFY inside the appending transaction would take PostgreSQL's global
    notify-queue lock until commit and so serialise every writer's commit; a
    wake-up sent after commit costs one cheap statement per burst instead.
    """

    def __init__(self, pool: asyncpg.Pool, channel: str, interval: float = 0.005) -> None:
        self.interval = interval
        self._pool = pool
        self._channel = channel
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sql = f"set local synchronous_commit = off; notify {channel}"

    def poke(self) -> None:
        self._wanted.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._wanted.is_set():
            self._wanted.clear()
            try:
                # One implicit transaction: NOTIFY takes a transaction id, and
                # waiting for its commit record to reach disk would buy nothing.
                await self._pool.execute(self._sql)
            except (
                asyncpg.PostgresError,
                OSError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,
            ) as exc:
                # Subscribers fall back to a timed read; a lost wake-up only delays them.
                log.warning("notify failed", channel=self._channel, error=str(exc))
                return
            # The first wake-up of a burst goes out at once; the rest of the burst
            # shares one NOTIFY per interval instead of one per append.
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(self._task, 2)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
