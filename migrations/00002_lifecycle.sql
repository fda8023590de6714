-- +goose Up

-- The payment lifecycle: why a canceled payment was canceled, and why a parked payment waits
-- for an operator (null when it does not).
ALTER TABLE payments
    ADD COLUMN cancellation_reason text,
    ADD COLUMN attention jsonb;
CREATE INDEX payments_attention ON payments (updated_at) WHERE attention IS NOT NULL;

-- Staff keys: API keys of Durapay's own people (operators, finance, admins) until they sign in
-- with OIDC. A staff key belongs to no merchant and carries roles instead.
ALTER TABLE api_keys
    ALTER COLUMN merchant_id DROP NOT NULL,
    ADD COLUMN name text NOT NULL DEFAULT '',
    ADD COLUMN roles text[] NOT NULL DEFAULT '{}',
    DROP CONSTRAINT api_keys_kind_check,
    ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('secret', 'staff')),
    ADD CONSTRAINT api_keys_owner_check CHECK ((kind = 'staff') = (merchant_id IS NULL)),
    ADD CONSTRAINT api_keys_roles_check CHECK (roles <@ ARRAY['admin', 'operator', 'finance']::text[]);

-- Stripe events Durapay has received, by webhook or by the backfill. An event is delivered
-- to its workflow once: a redelivery finds delivered_at set and changes nothing.
CREATE TABLE stripe_events (
    id           text PRIMARY KEY,
    type         text NOT NULL,
    object_id    text NOT NULL,
    created_at   timestamptz NOT NULL,   -- when Stripe created the event
    received_at  timestamptz NOT NULL DEFAULT now(),
    source       text NOT NULL CHECK (source IN ('webhook', 'backfill')),
    delivered_at timestamptz,
    outcome      text                    -- delivered, not_ours, workflow_closed, ignored
);
CREATE INDEX stripe_events_undelivered ON stripe_events (created_at) WHERE delivered_at IS NULL;

-- Saved answers of idempotent API requests other than payment creation (whose answer is the
-- payment row itself). A row with status 0 is a request still executing.
CREATE TABLE idempotency_records (
    principal    text NOT NULL,          -- the merchant or staff key that sent it
    key          text NOT NULL,
    route        text NOT NULL,          -- method and route template
    request_hash text NOT NULL,
    status       integer NOT NULL DEFAULT 0,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);

-- Positions of periodic jobs that read a provider's history (the Stripe events backfill).
CREATE TABLE sync_cursors (
    name       text PRIMARY KEY,
    position   timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE sync_cursors;
DROP TABLE idempotency_records;
DROP TABLE stripe_events;
DELETE FROM api_keys WHERE kind = 'staff';
ALTER TABLE api_keys
    DROP CONSTRAINT api_keys_roles_check,
    DROP CONSTRAINT api_keys_owner_check,
    DROP CONSTRAINT api_keys_kind_check,
    ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('secret')),
    DROP COLUMN roles,
    DROP COLUMN name,
    ALTER COLUMN merchant_id SET NOT NULL;
DROP INDEX payments_attention;
ALTER TABLE payments DROP COLUMN attention, DROP COLUMN cancellation_reason;
