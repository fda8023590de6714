-- +goose Up

-- API keys: besides a merchant's secret key and staff keys, restricted keys that carry
-- scopes; and an expiry, which a rolled key gets for its overlap window.
ALTER TABLE api_keys
    DROP CONSTRAINT api_keys_kind_check,
    ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('secret', 'restricted', 'staff')),
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{}',
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN replaced_by text REFERENCES api_keys (id);

-- The audit log: append-only, each row chained to the one before by a SHA-256 over the
-- previous hash and the row's canonical content, so that an edited or deleted row breaks
-- the chain (durapay-ctl audit verify).
CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,          -- merchant ID, staff:<key>, oidc:<subject>, anonymous
    action    text NOT NULL,          -- e.g. refund.create, api_key.revoke, auth.failure
    resource  text NOT NULL,
    outcome   text NOT NULL,          -- success, refused, failure
    remote    text NOT NULL,
    details   jsonb NOT NULL DEFAULT '{}',
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL UNIQUE
);
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'integrity_constraint_violation';
END $$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only;
DELETE FROM api_keys WHERE kind = 'restricted';
ALTER TABLE api_keys
    DROP COLUMN replaced_by,
    DROP COLUMN expires_at,
    DROP COLUMN scopes,
    DROP CONSTRAINT api_keys_kind_check,
    ADD CONSTRAINT api_keys_kind_check CHECK (kind IN ('secret', 'staff'));
