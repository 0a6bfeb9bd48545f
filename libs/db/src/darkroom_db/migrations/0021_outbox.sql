-- Transactional outbox (issue #15 item 1; docs/outbox.md): an event is written here in the same
-- transaction as the state change it tells of, then published to JetStream with ``msg_id`` as
-- its Nats-Msg-Id and marked published after the stream's ack. A relay in every process
-- publishes the rows a crash or a NATS outage left behind (claimed with FOR UPDATE SKIP LOCKED,
-- so several replicas never publish one row at the same time) and prunes published rows.

CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the event's subject without a bus namespace (darkroom.asset.created)
    subject text NOT NULL,
    -- the JetStream de-duplication id (Nats-Msg-Id)
    msg_id text NOT NULL,
    -- the JSON body as published
    payload bytea NOT NULL,
    -- the message headers besides Nats-Msg-Id: W3C trace context (traceparent, tracestate)
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);

-- the relay's scan: unpublished rows, oldest first
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
-- the pruning of published rows
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
