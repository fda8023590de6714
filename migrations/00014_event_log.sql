-- +goose Up

-- Every event Durapay emits, recorded before it is published, exactly as published. A
-- consumer acts only on an event found here (the message is the notification, the row the
-- record): a message produced to Kafka by anyone else moves nothing. Pruned by retention.
CREATE TABLE events (
    id          text PRIMARY KEY,
    merchant_id text NOT NULL,
    type        text NOT NULL,
    topic       text NOT NULL,
    key         text NOT NULL,          -- the Kafka message key: the object the event is about
    payload     bytea NOT NULL,         -- the envelope's JSON, the message's value
    created_at  timestamptz NOT NULL,   -- the event's own time
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_merchant_created ON events (merchant_id, created_at DESC, id);
CREATE INDEX events_recorded ON events (recorded_at);

-- +goose Down
DROP TABLE events;
