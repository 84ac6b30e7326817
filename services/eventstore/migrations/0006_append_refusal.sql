-- The append rule's checks as one SQL expression, append_refusal, that every append path uses:
-- reserve_stream (migration 0005, its body replaced here: "any" appends, several events, batches,
-- appends inside a caller's transaction) and the single exact-version append, a plain
-- INSERT … SELECT … WHERE with no function call left in it (issue 12: reserve_stream cost about
-- 15 µs of backend CPU per append more than the same checks written into the statement).
--
-- append_refusal(expected, version, last, position, index, count): which refusal, if any, an append
-- of `count` events at `position` (`index` events into its transaction) gets from a stream whose
-- last event is `version` at position `last` (version 0 and last null: no event), null when none:
--   * LOA04: more than 1,048,576 events in one transaction (positions are xid << 20 + index);
--   * LOA01: an exact expected version (>= 0) that is not the stream's version;
--   * LOA03: a transaction older than the stream's last event, which would place its events before
--     that event (docs/adr/0001-gap-free-global-order.md).
-- LANGUAGE sql with a single CASE and no SET clause: the planner inlines it into the calling
-- statement (a plpgsql call would cost its own executor).
create function {schema}.append_refusal(
    p_expected bigint,
    p_version  integer,
    p_last     bigint,
    p_position bigint,
    p_index    integer,
    p_count    integer
) returns text
language sql immutable as $$
    select case
        when p_index + p_count > 1048576 then 'LOA04'
        when p_expected >= 0 and p_version <> p_expected then 'LOA01'
        when p_last >= p_position then 'LOA03'
    end
$$;

-- reserve_stream: as in 0005 (same arguments, answers and errors), its checks now append_refusal's.
create or replace function {schema}.reserve_stream(
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
    -- Taken after the lock: the writer ahead in the queue has committed by now, and this probe
    -- (a fresh snapshot, READ COMMITTED) sees its events.
    v_xid := pg_current_xact_id()::text::bigint << 20;
    select ev.stream_version, ev.global_position into v_version, v_last
    from {schema}.events ev where ev.stream_id = p_stream
    order by ev.stream_version desc limit 1;
    v_version := coalesce(v_version, 0) + p_pending;
    case {schema}.append_refusal(p_expected, v_version, v_last, v_xid + v_index, v_index, p_count)
        when 'LOA04' then
            raise exception using errcode = 'LOA04',
                message = 'more than 1048576 events in one transaction';
        when 'LOA01' then
            raise exception using errcode = 'LOA01',
                message = format('stream %s: expected version %s, actual %s', p_stream, p_expected, v_version),
                detail = v_version::text, hint = p_ord::text;
        when 'LOA03' then
            raise exception using errcode = 'LOA03',
                message = format('transaction is older than the last event of stream %s; retry it', p_stream),
                hint = p_ord::text;
        else
    end case;
    out_version := v_version + 1;
    out_position := v_xid + v_index;
    return next;
end
$$;
