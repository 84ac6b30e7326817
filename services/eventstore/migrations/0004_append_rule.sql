-- The append rule, written once; every append path (one event, several, a COPY batch, inside a
-- caller's transaction) reserves its versions and positions here, then writes its rows.
-- For appends i = 1..n (p_streams[i], p_expected[i], p_counts[i] events), in this order:
--   * "any" appends (p_expected < 0) queue per stream, on locks taken in key order, so that two
--     writers naming the same streams wait for each other instead of deadlocking;
--   * the version check: p_expected >= 0 must equal the stream's version, counting the appends
--     before it in the same call (LOA01, detail = actual version, hint = i);
--   * the stale-transaction check: a transaction older than a stream's last event would place
--     its events before that event (LOA03; docs/adr/0001-gap-free-global-order.md);
--   * positions: (transaction id << 20) + the transaction's running index, at most 1,048,576
--     events per transaction (LOA04).
-- Returns, per append in input order, its first version and its first position; the append's
-- k-th event (k from 0) takes out_version + k and out_position + k.
drop function {schema}.append_event(text, bigint, uuid, text, integer, jsonb, jsonb, timestamptz, boolean);
drop function {schema}.append_events(
    text, bigint, uuid[], text[], integer[], jsonb[], jsonb[], timestamptz[], boolean);

create function {schema}.reserve(p_streams text[], p_expected bigint[], p_counts integer[])
returns table (out_version integer, out_position bigint)
-- One generic plan for every call: the arguments are arrays, so a custom plan would be the same
-- plan, planned again on each append (planning cost four times the execution).
language plpgsql set plan_cache_mode = force_generic_plan as $$
declare
    v_total integer := 0;
    v_index integer;
    v_base  bigint;
    r       record;
    v_heads refcursor;
begin
    if -1 = any(p_expected) then
        perform count(pg_advisory_xact_lock(k)) from (
            select distinct hashtextextended(s, 0) as k
            from unnest(p_streams, p_expected) as a(s, e) where e < 0 order by k
        ) as keys;
    end if;
    if cardinality(p_counts) = 1 then
        v_total := p_counts[1];
    else
        select coalesce(sum(c), 0) into v_total from unnest(p_counts) as c;
    end if;
    v_index := coalesce(nullif(current_setting('loa.position_index', true), ''), '0')::integer;
    if v_index + v_total > 1048576 then
        raise exception using errcode = 'LOA04',
            message = 'more than 1048576 events in one transaction';
    end if;
    -- Taken after the locks: the writer ahead in the queue has committed by now.
    v_base := (pg_current_xact_id()::text::bigint << 20) + v_index;
    if cardinality(p_streams) = 1 then
        -- The common case, one append: its stream's head by one backward index probe.
        open v_heads for
            -- (The same column types as the query below: the loop's plans are cached by type.)
            select 1::bigint as ord, p_streams[1] as s, p_expected[1] as e, h.last,
                   coalesce(h.version, 0)::bigint as current, 0::bigint as offs
            from (select 1) as one left join lateral (
                select ev.stream_version as version, ev.global_position as last
                from {schema}.events ev where ev.stream_id = p_streams[1]
                order by ev.stream_version desc limit 1
            ) as h on true;
    else
        -- Several: each counts the appends before it, to its own stream (current) and to all (offs).
        open v_heads for
            select a.ord, a.s, a.e, h.last,
                   (coalesce(h.version, 0) + coalesce(sum(a.c) over (
                       partition by a.s order by a.ord rows between unbounded preceding and 1 preceding), 0)
                   )::bigint as current,
                   coalesce(sum(a.c) over (order by a.ord rows between unbounded preceding and 1 preceding), 0)
                       ::bigint as offs
            from unnest(p_streams, p_expected, p_counts) with ordinality as a(s, e, c, ord)
            left join lateral (
                select ev.stream_version as version, ev.global_position as last
                from {schema}.events ev where ev.stream_id = a.s order by ev.stream_version desc limit 1
            ) as h on true
            order by a.ord;
    end if;
    loop
        fetch v_heads into r;
        exit when not found;
        if r.e >= 0 and r.current <> r.e then
            raise exception using errcode = 'LOA01',
                message = format('stream %s: expected version %s, actual %s', r.s, r.e, r.current),
                detail = r.current::text, hint = r.ord::text;
        end if;
        if r.last is not null and r.last >= v_base then
            raise exception using errcode = 'LOA03',
                message = format('transaction is older than the last event of stream %s; retry it', r.s),
                hint = r.ord::text;
        end if;
        out_version := r.current + 1;
        out_position := v_base + r.offs;
        return next;
    end loop;
    close v_heads;
    perform set_config('loa.position_index', (v_index + v_total)::text, true);
end
$$;
