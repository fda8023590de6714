-- +goose Up

-- Texts go only to a merchant's verified contact number: Durapay texts a code to it, the
-- merchant enters the code. A verification is requested (code_hash null: waiting for the
-- notifier), sent (code_hash, expires_at), then confirmed or abandoned; a newer request
-- supersedes the older ones. The verified number is kept as its SHA-256, beside the sealed
-- profile, so that a changed number is unverified at once.
CREATE TABLE merchant_phone_verifications (
    id            text PRIMARY KEY,
    merchant_id   text NOT NULL REFERENCES merchants (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    code_hash     bytea CHECK (length(code_hash) = 32),
    sent_to_hash  bytea CHECK (length(sent_to_hash) = 32),  -- the number the code went to
    sent_at       timestamptz,
    expires_at    timestamptz,
    attempts      integer NOT NULL DEFAULT 0,
    verified_at   timestamptz,
    superseded_at timestamptz
);
CREATE INDEX merchant_phone_verifications_pending ON merchant_phone_verifications (created_at)
    WHERE code_hash IS NULL AND superseded_at IS NULL;
CREATE INDEX merchant_phone_verifications_merchant ON merchant_phone_verifications (merchant_id, created_at);
ALTER TABLE merchants ADD COLUMN phone_verified_hash bytea CHECK (length(phone_verified_hash) = 32);

-- +goose Down
ALTER TABLE merchants DROP COLUMN phone_verified_hash;
DROP TABLE merchant_phone_verifications;
