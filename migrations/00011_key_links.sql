-- +goose Up

-- A merchant's secret key reaches the merchant itself, never the operator who approved it:
-- approval issues the key with a secret nobody knows, and requests a single-use link, which
-- the notifier emails to the merchant's contact address. The link's token is stored only as
-- its SHA-256, set when it is sent; using the link gives the key a fresh secret, which
-- exists only in that answer (Durapay keeps its hash).
--   pending     token_hash null: waiting for the notifier
--   sent        token_hash set, expires_at set
--   used        used_at and key_id set
--   superseded  an operator asked for a new link first
CREATE TABLE merchant_key_links (
    id            text PRIMARY KEY,
    merchant_id   text NOT NULL REFERENCES merchants (id),
    requested_by  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    token_hash    bytea UNIQUE CHECK (length(token_hash) = 32),
    sent_at       timestamptz,
    expires_at    timestamptz,
    used_at       timestamptz,
    used_from     text,
    key_id        text NOT NULL REFERENCES api_keys (id),
    superseded_at timestamptz
);
CREATE INDEX merchant_key_links_pending ON merchant_key_links (created_at) WHERE token_hash IS NULL AND superseded_at IS NULL;
CREATE INDEX merchant_key_links_merchant ON merchant_key_links (merchant_id, created_at);

-- Secrets were kept sealed here until an operator saw them: no secret is stored any more.
DROP TABLE api_key_reveals;

-- +goose Down
CREATE TABLE api_key_reveals (
    key_id     text PRIMARY KEY REFERENCES api_keys (id),
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
DROP TABLE merchant_key_links;
