-- +goose Up

-- Merchants onboard through a workflow: their profile (legal name, contact email and phone)
-- is personal data, kept sealed (internal/envelope) and opened only where needed; country
-- and business type are not, and stay searchable. onboarding is the workflow's state as
-- GET /v1/merchants/{id} shows it.
ALTER TABLE merchants
    ADD COLUMN status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('onboarding', 'pending_review', 'active', 'rejected', 'expired')),
    ADD COLUMN country text CHECK (country ~ '^[A-Z]{2}$'),
    ADD COLUMN business_type text,
    ADD COLUMN profile bytea,
    ADD COLUMN stripe_account_id text UNIQUE,
    ADD COLUMN workflow_id text UNIQUE,
    ADD COLUMN request_hash text,
    ADD COLUMN onboarding jsonb,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Invitations to sign up without an operator: single use, stored hashed.
CREATE TABLE invites (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    merchant_id text                 -- the merchant it created (not a reference: it is spent before the merchant exists)
);

-- A new key's secret, sealed, until the operator who approved the merchant has seen it
-- once (api_key_reveals rows are deleted as they are read).
CREATE TABLE api_key_reveals (
    key_id     text PRIMARY KEY REFERENCES api_keys (id),
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Customers of merchants: a Stripe Customer each; email and name sealed.
CREATE TABLE customers (
    id                 text PRIMARY KEY,
    merchant_id        text NOT NULL REFERENCES merchants (id),
    stripe_customer_id text NOT NULL UNIQUE,
    profile            bytea NOT NULL,
    description        text NOT NULL DEFAULT '',
    metadata           jsonb NOT NULL DEFAULT '{}',
    idempotency_key    text NOT NULL,
    request_hash       text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (merchant_id, idempotency_key)
);

-- A payment may name one of the merchant's customers.
ALTER TABLE payments ADD COLUMN customer_id text REFERENCES customers (id);

-- +goose Down
ALTER TABLE payments DROP COLUMN customer_id;
DROP TABLE customers;
DROP TABLE api_key_reveals;
DROP TABLE invites;
ALTER TABLE merchants
    DROP COLUMN updated_at, DROP COLUMN onboarding, DROP COLUMN request_hash, DROP COLUMN workflow_id,
    DROP COLUMN stripe_account_id, DROP COLUMN profile, DROP COLUMN business_type, DROP COLUMN country,
    DROP COLUMN status;
