-- +goose Up

-- Refunds move a payment to partially_refunded or refunded.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN
    ('processing', 'requires_action', 'requires_capture', 'succeeded', 'failed', 'canceled', 'partially_refunded', 'refunded'));

-- Refunds. A refund is reserved (pending) under a lock on its payment's row before Stripe
-- is asked, so that concurrent refunds can never exceed what was captured; payments'
-- amount_refunded counts every refund that has not failed.
CREATE TABLE refunds (
    id               text PRIMARY KEY,
    merchant_id      text NOT NULL REFERENCES merchants (id),
    payment_id       text NOT NULL REFERENCES payments (id),
    amount           bigint NOT NULL CHECK (amount > 0),
    currency         text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    reason           text NOT NULL DEFAULT '',
    metadata         jsonb NOT NULL DEFAULT '{}',
    idempotency_key  text NOT NULL,
    request_hash     text NOT NULL,
    workflow_id      text NOT NULL UNIQUE,
    stripe_refund_id text,
    failure_reason   text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (merchant_id, idempotency_key)
);
CREATE INDEX refunds_payment ON refunds (payment_id, created_at);

-- Each ledger transaction names the refund it records (if any) and the Stripe object it
-- mirrors (a charge or a refund), which reconciliation matches with Stripe's balance
-- transactions.
ALTER TABLE ledger_transactions
    ADD COLUMN refund_id text REFERENCES refunds (id),
    ADD COLUMN external_ref text;
CREATE INDEX ledger_transactions_external_ref ON ledger_transactions (external_ref) WHERE external_ref IS NOT NULL;
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_at, id);

-- Fee plans: Durapay's fee on a captured amount, a percentage plus a fixed part in the
-- currency's minor units. A merchant's plan for the currency, else the platform's (merchant
-- null) for the currency, else the platform's for '*'.
CREATE TABLE fee_plans (
    merchant_id text REFERENCES merchants (id),
    currency    text NOT NULL CHECK (currency = '*' OR currency ~ '^[a-z]{3}$'),
    percent     numeric(9, 6) NOT NULL CHECK (percent >= 0 AND percent < 1),
    fixed_minor bigint NOT NULL DEFAULT 0 CHECK (fixed_minor >= 0),
    UNIQUE NULLS NOT DISTINCT (merchant_id, currency)
);
INSERT INTO fee_plans (merchant_id, currency, percent, fixed_minor) VALUES
    (NULL, '*', 0.015, 0),
    (NULL, 'usd', 0.015, 25),
    (NULL, 'eur', 0.015, 25),
    (NULL, 'gbp', 0.015, 20);

-- Daily settlement reports, one object per merchant and UTC day.
CREATE TABLE reports (
    merchant_id text NOT NULL REFERENCES merchants (id),
    day         date NOT NULL,
    object_key  text NOT NULL,
    sha256      text NOT NULL,
    size_bytes  integer NOT NULL,
    row_count   integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, day)
);

-- Reconciliation of the ledger with Stripe's balance transactions, per UTC day.
CREATE TABLE reconciliation_runs (
    day           date PRIMARY KEY,
    stripe_count  integer NOT NULL,
    ledger_count  integer NOT NULL,
    mismatches    integer NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE reconciliation_mismatches (
    id            bigserial PRIMARY KEY,
    day           date NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('missing_in_ledger', 'missing_at_stripe', 'amount_mismatch')),
    source_id     text NOT NULL,      -- the Stripe object: ch_..., re_...
    currency      text NOT NULL,
    stripe_amount bigint,
    ledger_amount bigint,
    merchant_id   text,
    detected_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (day, kind, source_id)
);

-- +goose Down
DROP TABLE reconciliation_mismatches;
DROP TABLE reconciliation_runs;
DROP TABLE reports;
DROP TABLE fee_plans;
DROP INDEX ledger_transactions_created;
DROP INDEX ledger_transactions_external_ref;
ALTER TABLE ledger_transactions DROP COLUMN external_ref, DROP COLUMN refund_id;
DROP TABLE refunds;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN
    ('processing', 'requires_action', 'requires_capture', 'succeeded', 'failed', 'canceled'));
