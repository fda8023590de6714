-- +goose Up

-- Merchants and their API keys. A key is stored only as its SHA-256: keys are 190-bit random
-- strings, so a fast hash cannot be brute-forced and lookups stay one index probe.
CREATE TABLE merchants (
    id         text PRIMARY KEY CHECK (id ~ '^mer_[A-Za-z0-9_]+$'),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants (id),
    key_hash    bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    key_prefix  text NOT NULL,          -- the first characters, to recognise a key in a list
    kind        text NOT NULL CHECK (kind IN ('secret')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);

-- The payments read model, written by PaymentWorkflow's activities. A row changes only when
-- the workflow's state version moves forward, so a replayed or late write is a no-op.
CREATE TABLE payments (
    id                       text PRIMARY KEY,
    merchant_id              text NOT NULL REFERENCES merchants (id),
    idempotency_key          text NOT NULL,
    request_hash             text NOT NULL,
    workflow_id              text NOT NULL UNIQUE,
    amount                   bigint NOT NULL CHECK (amount > 0),
    currency                 text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    status                   text NOT NULL CHECK (status IN ('processing', 'requires_action', 'requires_capture', 'succeeded', 'failed', 'canceled')),
    capture_method           text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
    payment_method           text NOT NULL,
    description              text NOT NULL DEFAULT '',
    metadata                 jsonb NOT NULL DEFAULT '{}',
    amount_capturable        bigint NOT NULL DEFAULT 0 CHECK (amount_capturable >= 0),
    amount_captured          bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0 AND amount_captured <= amount),
    amount_refunded          bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0 AND amount_refunded <= amount_captured),
    stripe_payment_intent_id text,
    next_action              jsonb,
    failure                  jsonb,
    version                  bigint NOT NULL CHECK (version > 0),
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    UNIQUE (merchant_id, idempotency_key)
);
CREATE INDEX payments_merchant_created ON payments (merchant_id, created_at DESC, id);
CREATE INDEX payments_payment_intent ON payments (stripe_payment_intent_id) WHERE stripe_payment_intent_id IS NOT NULL;

-- The double-entry ledger. Amounts are signed minor units: debits positive, credits negative,
-- so every transaction's postings sum to zero per currency.
CREATE TABLE ledger_accounts (
    id       bigserial PRIMARY KEY,
    owner    text NOT NULL,             -- 'platform' or a merchant ID
    kind     text NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    UNIQUE (owner, kind, currency)
);

CREATE TABLE ledger_transactions (
    id          text PRIMARY KEY,       -- deterministic, from the business operation
    kind        text NOT NULL,
    merchant_id text NOT NULL REFERENCES merchants (id),
    payment_id  text REFERENCES payments (id),
    created_at  timestamptz NOT NULL
);
CREATE INDEX ledger_transactions_merchant ON ledger_transactions (merchant_id, created_at);
CREATE INDEX ledger_transactions_payment ON ledger_transactions (payment_id);

CREATE TABLE ledger_postings (
    id             bigserial PRIMARY KEY,
    transaction_id text NOT NULL REFERENCES ledger_transactions (id),
    account_id     bigint NOT NULL REFERENCES ledger_accounts (id),
    amount         bigint NOT NULL CHECK (amount <> 0),
    currency       text NOT NULL CHECK (currency ~ '^[a-z]{3}$')
);
CREATE INDEX ledger_postings_transaction ON ledger_postings (transaction_id);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id);

-- Postings are immutable: corrections are reversals, never edits.
-- +goose StatementBegin
CREATE FUNCTION ledger_postings_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger postings are immutable; post a reversal instead' USING ERRCODE = 'integrity_constraint_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_postings_immutable();
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_postings_immutable();

-- Checked at commit, after all of a transaction's postings are in: the application checks
-- the same rule first, this is the database's own guarantee.
-- +goose StatementBegin
CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced text;
BEGIN
    SELECT currency INTO unbalanced FROM ledger_postings
     WHERE transaction_id = NEW.transaction_id
     GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', NEW.transaction_id, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();

-- +goose Down
DROP TABLE ledger_postings;
DROP TABLE ledger_transactions;
DROP TABLE ledger_accounts;
DROP FUNCTION ledger_transaction_balanced;
DROP FUNCTION ledger_postings_immutable;
DROP TABLE payments;
DROP TABLE api_keys;
DROP TABLE merchants;
