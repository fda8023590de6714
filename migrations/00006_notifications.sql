-- +goose Up

-- What a merchant wants sent on its behalf. A merchant without a row gets the defaults:
-- receipts and refund emails to its customers, no SMS.
CREATE TABLE notification_preferences (
    merchant_id     text PRIMARY KEY REFERENCES merchants (id),
    email_receipts  boolean NOT NULL DEFAULT true,
    email_refunds   boolean NOT NULL DEFAULT true,
    -- Event types texted to the merchant's contact phone.
    sms_events      text[] NOT NULL DEFAULT '{}',
    -- Daily caps on what one merchant can spend of Durapay's SES and SNS quotas.
    daily_email_cap integer NOT NULL DEFAULT 10000 CHECK (daily_email_cap BETWEEN 0 AND 1000000),
    daily_sms_cap   integer NOT NULL DEFAULT 100 CHECK (daily_sms_cap BETWEEN 0 AND 100000),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The notifier's outbox of record: one row per (event, channel, recipient), claimed before
-- the email or SMS is sent. A redelivered Kafka message finds the row and sends nothing.
-- The recipient is stored hashed: the row is a dedupe key, not a copy of personal data.
--   sending    claimed; if it stays so, the notifier stopped mid-send and whether the
--              provider sent it is unknown (never retried: at most once)
--   retryable  the provider refused it (nothing was sent); the next attempt may claim it
--   sent, capped and failed are final
CREATE TABLE notification_sends (
    event_id       text NOT NULL,
    channel        text NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient_hash bytea NOT NULL CHECK (length(recipient_hash) = 32),
    merchant_id    text NOT NULL,
    event_type     text NOT NULL,
    template       text NOT NULL,
    status         text NOT NULL CHECK (status IN ('sending', 'retryable', 'sent', 'capped', 'failed')),
    attempts       integer NOT NULL DEFAULT 1,
    provider_id    text,
    error          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, channel, recipient_hash)
);
CREATE INDEX notification_sends_merchant ON notification_sends (merchant_id, created_at);

-- Events a consumer has applied, for consumers whose effect is not naturally idempotent
-- (the analytics counters): the row and the effect commit in one transaction.
CREATE TABLE consumer_inbox (
    consumer     text NOT NULL,
    event_id     text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Live analytics: per merchant, currency and minute (of the event's time).
CREATE TABLE analytics_minutes (
    merchant_id        text NOT NULL,
    currency           text NOT NULL,
    minute             timestamptz NOT NULL,
    payments_succeeded bigint NOT NULL DEFAULT 0,
    payments_failed    bigint NOT NULL DEFAULT 0,
    volume             bigint NOT NULL DEFAULT 0, -- minor units captured by succeeded payments
    refunds_succeeded  bigint NOT NULL DEFAULT 0,
    refunded_amount    bigint NOT NULL DEFAULT 0,
    success_seconds    bigint NOT NULL DEFAULT 0, -- sum of creation-to-success times
    PRIMARY KEY (merchant_id, currency, minute)
);

-- Merchant webhook endpoints. Secrets are sealed (internal/envelope); during a rotation the
-- previous secret signs too, until previous_expires_at.
CREATE TABLE webhook_endpoints (
    id                  text PRIMARY KEY,
    merchant_id         text NOT NULL REFERENCES merchants (id),
    url                 text NOT NULL,
    description         text NOT NULL DEFAULT '',
    enabled_events      text[] NOT NULL,
    status              text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    secret              bytea NOT NULL,
    previous_secret     bytea,
    previous_expires_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id);

-- One delivery of one event to one endpoint, driven by a WebhookDeliveryWorkflow; a
-- redelivery on request is a new row naming the one it repeats. payload is the exact bytes
-- that are signed and sent.
CREATE TABLE webhook_deliveries (
    id               text PRIMARY KEY,
    endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id),
    merchant_id      text NOT NULL,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    payload          bytea NOT NULL,
    redelivery_of    text REFERENCES webhook_deliveries (id),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (endpoint_id, event_id) WHERE redelivery_of IS NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);

-- Every HTTP attempt of a delivery: the endpoint's delivery log.
CREATE TABLE webhook_attempts (
    delivery_id text NOT NULL REFERENCES webhook_deliveries (id),
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL,
    status_code integer,
    error       text,
    PRIMARY KEY (delivery_id, attempt)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE analytics_minutes;
DROP TABLE consumer_inbox;
DROP TABLE notification_sends;
DROP TABLE notification_preferences;
