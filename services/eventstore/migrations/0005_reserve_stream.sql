-- The append rule of migration 0004, moved into reserve_stream (one append per call), a shape
-- that costs less per append (issue 12: a single append cost about twice a plain INSERT on the
-- server, 87-114 µs of backend CPU against 44-60; this shape takes 67-81). Same arguments, answers
-- and errors for every caller.
--
-- reserve_stream: the rule for one append, p_count events to p_stream:
--   * an "any" append (p_expected < 0) queues behind the other writers of its stream on a lock;
--   * the version check: p_expected >= 0 must equal the stream's version, counting p_pending
--     events that earlier appends of the same call reserved on this stream and have not written
--     yet (LOA01, detail = actual version, hint = p_ord);
--   * the stale-transaction check: a transaction older than the stream's last event would place
--     its events before that event (LOA03; docs/adr/0001-gap-free-global-order.md);
--   * positions: (transaction id << 20) + the transaction's running index, at most 1,048,576
--     events per transaction (LOA04). The running index is what this transaction has written
--     before (its own positions, read back by one probe of the primary key, and only when the
--     transaction already holds an id: a standalone append skips it) plus p_offset events that
--     earlier appends of the same call reserved and have not written yet.
-- It returns the append's first version and first position; its k-th event (k from 0) takes
-- out_version + k and out_position + k. Every caller writes what it reserved before it reserves
-- again in the same transaction (the probe counts on it).
--
-- reserve: several appends in one call (a batch, then one COPY): the "any" appends' locks taken
-- first, in key order, so that two writers naming the same streams wait for each other instead of
-- deadlocking; then reserve_stream for each append in input order, told what the appends before
-- it reserved. Returns one row per append, in input order.
--
-- Why not 0004's shape: its one function took arrays even for one event (building, passing and
-- subscripting them cost about 14 µs), opened a cursor over a query joining every append to its
-- stream head (about 15 µs), carried a SET clause (settings saved and restored around each call)
-- and kept the running index in a setting (current_setting + set_config, about 13 µs).
create function {schema}.reserve_stream(
    p_stream   text,
    p_expected bigint,
    p_count    integer,
    p_pending  integer default 0,
    p_offset   integer default 0,
    p_ord      integer default 1
) returns table (out_version integer, out_position bigint)
language plpgsql as $$
declare
    v_xid     bigint;
    v_index   integer := p_offset;
    v_version integer;
    v_last    bigint;
begin
    if p_expected < 0 then
        perform pg_advisory_xact_lock(hashtextextended(p_stream, 0));
    end if;
    if pg_current_xact_id_if_assigned() is not null then
        v_xid := pg_current_xact_id()::text::bigint << 20;
        select coalesce(max(ev.global_position) + 1 - v_xid, 0) + p_offset into v_index
        from {schema}.events ev
        where ev.global_position >= v_xid and ev.global_position < v_xid + 1048576;
    end if;
    if v_index + p_count > 1048576 then
        raise exception using errcode = 'LOA04',
            message = 'more than 1048576 events in one transaction';
    end if;
    -- Taken after the lock: the writer ahead in the queue has committed by now, and this probe
    -- (a fresh snapshot, READ COMMITTED) sees its events.
    v_xid := pg_current_xact_id()::text::bigint << 20;
    select ev.stream_version, ev.global_position into v_version, v_last
    from {schema}.events ev where ev.stream_id = p_stream
    order by ev.stream_version desc limit 1;
    v_version := coalesce(v_version, 0) + p_pending;
    if p_expected >= 0 and v_version <> p_expected then
        raise exception using errcode = 'LOA01',
            message = format('stream %s: expected version %s, actual %s', p_stream, p_expected, v_version),
            detail = v_version::text, hint = p_ord::text;
    end if;
    if v_last >= v_xid + v_index then
        raise exception using errcode = 'LOA03',
            message = format('transaction is older than the last event of stream %s; retry it', p_stream),
            hint = p_ord::text;
    end if;
    out_version := v_version + 1;
    out_position := v_xid + v_index;
    return next;
end
$$;

create or replace function {schema}.reserve(p_streams text[], p_expected bigint[], p_counts integer[])
returns table (out_version integer, out_position bigint)
language plpgsql as $$
declare
    r record;
begin
    if -1 = any(p_expected) then
        perform count(pg_advisory_xact_lock(k)) from (
            select distinct hashtextextended(s, 0) as k
            from unnest(p_streams, p_expected) as a(s, e) where e < 0 order by k
        ) as keys;
    end if;
    for r in
        select a.s, a.e, a.c, a.ord,
               coalesce(sum(a.c) over (
                   partition by a.s order by a.ord rows between unbounded preceding and 1 preceding), 0
               )::integer as pending,
               coalesce(sum(a.c) over (order by a.ord rows between unbounded preceding and 1 preceding), 0
               )::integer as offs
        from unnest(p_streams, p_expected, p_counts) with ordinality as a(s, e, c, ord)
        order by a.ord
    loop
        select s.out_version, s.out_position into out_version, out_position
        from {schema}.reserve_stream(r.s, r.e, r.c, r.pending, r.offs, r.ord::integer) as s;
        return next;
    end loop;
end
$$;
