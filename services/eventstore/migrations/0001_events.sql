-- The event log of one service, in the service's own schema ({schema}).
-- global_position is (transaction id << 20) + index within the transaction:
-- see docs/adr/0001-gap-free-global-order.md.
create table {schema}.events (
    global_position bigint primary key,
    stream_id       text        not null,
    stream_version  integer     not null,
    event_id        uuid        not null,
    type            text        not null,
    schema_version  integer     not null,
    data            jsonb       not null,
    metadata        jsonb       not null,
    occurred_at     timestamptz not null,
    recorded_at     timestamptz not null default now(),
    constraint events_stream_version_key unique (stream_id, stream_version),
    constraint events_event_id_key unique (event_id),
    constraint events_stream_version_positive check (stream_version > 0)
);

create index events_type_position on {schema}.events (type, global_position);
create index events_category_position
    on {schema}.events ((split_part(stream_id, '-', 1)), global_position);

-- Where each subscriber (projection, relay) has read up to. Written in the same
-- transaction as the rows it covers.
create table {schema}.checkpoints (
    name       text primary key,
    position   bigint      not null,
    updated_at timestamptz not null default now()
);

-- One round trip per append: idempotency check, expected-version check, position
-- assignment and insert. Error codes: LOA01 wrong expected version (detail = actual),
-- LOA02 some event ids stored by another append, LOA03 stale transaction,
-- LOA04 too many events in one transaction.
create function {schema}.append_events(
    p_stream   text,
    p_expected bigint,            -- -1: any; 0: no stream; n: exact version
    p_ids      uuid[],
    p_types    text[],
    p_versions integer[],
    p_data     jsonb[],
    p_meta     jsonb[],
    p_occurred timestamptz[],
    p_dedup    boolean            -- look for already-stored event ids first
) returns table (out_position bigint, out_version integer, out_duplicate boolean)
language plpgsql as $$
declare
    v_count   integer := cardinality(p_ids);
    v_found   integer := 0;
    v_current integer;
    v_last    bigint;
    v_index   integer;
    v_base    bigint;
begin
    -- A standalone append skips this look-up and lets the unique index on
    -- event_id catch a re-send (the caller then fetches the originals): one index
    -- probe less on the hot path. Inside a caller's transaction an error would
    -- abort that transaction, so there we look first.
    if p_dedup then
        select count(*) into v_found from {schema}.events e where e.event_id = any(p_ids);
    end if;
    if v_found > 0 then
        if v_found = v_count and not exists (
            select 1 from {schema}.events e where e.event_id = any(p_ids) and e.stream_id <> p_stream
        ) then
            return query
                select e.global_position, e.stream_version, true
                from unnest(p_ids) with ordinality as u(id, ord)
                join {schema}.events e on e.event_id = u.id
                order by u.ord;
            return;
        end if;
        raise exception using errcode = 'LOA02',
            message = 'some event ids are already stored by a different append',
            detail = (select string_agg(e.event_id::text, ',') from {schema}.events e
                      where e.event_id = any(p_ids));
    end if;

    if p_expected < 0 then
        -- "any" appends to one stream queue up here instead of racing on the
        -- unique index and retrying; exact-version appends need no queue.
        perform pg_advisory_xact_lock(hashtextextended(p_stream, 0));
    end if;
    select e.stream_version, e.global_position into v_current, v_last
    from {schema}.events e where e.stream_id = p_stream
    order by e.stream_version desc limit 1;
    v_current := coalesce(v_current, 0);
    if p_expected >= 0 and v_current <> p_expected then
        raise exception using errcode = 'LOA01',
            message = format('stream %s: expected version %s, actual %s', p_stream, p_expected, v_current),
            detail = v_current::text;
    end if;

    v_index := coalesce(nullif(current_setting('loa.position_index', true), ''), '0')::integer;
    if v_index + v_count > 1048576 then
        raise exception using errcode = 'LOA04',
            message = 'more than 1048576 events in one transaction';
    end if;
    v_base := (pg_current_xact_id()::text::bigint << 20) + v_index;
    if v_last is not null and v_last >= v_base then
        raise exception using errcode = 'LOA03',
            message = format('transaction is older than the last event of stream %s; retry it', p_stream);
    end if;
    perform set_config('loa.position_index', (v_index + v_count)::text, true);

    return query
        insert into {schema}.events as e
            (global_position, stream_id, stream_version, event_id, type, schema_version,
             data, metadata, occurred_at)
        select v_base + u.ord - 1, p_stream, v_current + u.ord::integer, u.id, u.t, u.sv,
               u.d, u.m, u.o
        from unnest(p_ids, p_types, p_versions, p_data, p_meta, p_occurred)
             with ordinality as u(id, t, sv, d, m, o, ord)
        returning e.global_position, e.stream_version, false;
end
$$;

-- The same for the most common case, one event: scalar arguments spare the
-- client the array encoding and the server the unnest (about 13% per append).
create function {schema}.append_event(
    p_stream   text,
    p_expected bigint,
    p_id       uuid,
    p_type     text,
    p_version  integer,
    p_data     jsonb,
    p_meta     jsonb,
    p_occurred timestamptz,
    p_dedup    boolean
) returns table (out_position bigint, out_version integer, out_duplicate boolean)
language plpgsql as $$
declare
    v_current integer;
    v_last    bigint;
    v_index   integer;
    v_base    bigint;
begin
    if p_dedup then
        return query select * from {schema}.append_events(
            p_stream, p_expected, array[p_id], array[p_type], array[p_version],
            array[p_data], array[p_meta], array[p_occurred], true);
        return;
    end if;
    if p_expected < 0 then
        perform pg_advisory_xact_lock(hashtextextended(p_stream, 0));
    end if;
    select e.stream_version, e.global_position into v_current, v_last
    from {schema}.events e where e.stream_id = p_stream
    order by e.stream_version desc limit 1;
    v_current := coalesce(v_current, 0);
    if p_expected >= 0 and v_current <> p_expected then
        raise exception using errcode = 'LOA01',
            message = format('stream %s: expected version %s, actual %s', p_stream, p_expected, v_current),
            detail = v_current::text;
    end if;
    v_index := coalesce(nullif(current_setting('loa.position_index', true), ''), '0')::integer;
    if v_index + 1 > 1048576 then
        raise exception using errcode = 'LOA04',
            message = 'more than 1048576 events in one transaction';
    end if;
    v_base := (pg_current_xact_id()::text::bigint << 20) + v_index;
    if v_last is not null and v_last >= v_base then
        raise exception using errcode = 'LOA03',
            message = format('transaction is older than the last event of stream %s; retry it', p_stream);
    end if;
    perform set_config('loa.position_index', (v_index + 1)::text, true);
    insert into {schema}.events
        (global_position, stream_id, stream_version, event_id, type, schema_version,
         data, metadata, occurred_at)
    values (v_base, p_stream, v_current + 1, p_id, p_type, p_version, p_data, p_meta, p_occurred);
    out_position := v_base;
    out_version := v_current + 1;
    out_duplicate := false;
    return next;
end
$$;

-- The highest position below which no transaction is still in flight.
create function {schema}.safe_position() returns bigint
language sql stable as $$
    select (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 20)
$$;
