-- +goose Up
-- A merchant's keys are listed newest first, a page at a time from a cursor (GET /v1/api_keys,
-- keyset on (created_at, id)), and counted against the cap of active keys. Revoked and
-- expired keys stay, so without this index every page would sort all of them.
CREATE INDEX api_keys_merchant_created ON api_keys (merchant_id, created_at DESC, id DESC);
-- The new index serves every lookup by merchant the old one did.
DROP INDEX api_keys_merchant;

-- +goose Down
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);
DROP INDEX api_keys_merchant_created;
