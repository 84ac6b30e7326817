-- Events copied from another service's stream that arrived before an earlier event of
-- that stream (a backlog handled side by side, a retry, a replay): held here until the
-- gap is filled, then appended at their own version, so the copy keeps the source's
-- order (docs/adr/0003). Written in the consumer's transaction with its inbox mark.
create table {schema}.held_events (
    stream_id      text        not null,
    stream_version integer     not null,
    event_id       uuid        not null,
    type           text        not null,
    schema_version integer     not null,
    data           jsonb       not null,
    metadata       jsonb       not null,
    occurred_at    timestamptz not null,
    held_at        timestamptz not null default now(),
    primary key (stream_id, stream_version)
);
