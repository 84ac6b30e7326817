-- Messages a consumer of this service has handled, by event id: written in the
-- same transaction as the handler's effects, so a redelivery changes nothing.
create table {schema}.inbox (
    consumer     text        not null,
    event_id     uuid        not null,
    processed_at timestamptz not null default now(),
    primary key (consumer, event_id)
);
