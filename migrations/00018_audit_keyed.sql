-- +goose Up

-- The audit log's hashes become HMAC-SHA256 under a key the database never holds
-- (AUDIT_KEYS), so that its owner can no longer rewrite a row and recompute the chain.
-- key_id names the key of each row; the rows written before, chained with plain SHA-256,
-- keep '' and still verify. The default serves those rows only: every new row names its key.
ALTER TABLE audit_log ADD COLUMN key_id text NOT NULL DEFAULT '';
ALTER TABLE audit_log ALTER COLUMN key_id DROP DEFAULT;

-- TRUNCATE fires no row trigger: without these, one statement would empty the ledger that
-- the row triggers of 00001 keep from any UPDATE or DELETE (audit_log refuses it already).
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_immutable();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_immutable();

-- +goose Down
DROP TRIGGER ledger_transactions_no_truncate ON ledger_transactions;
DROP TRIGGER ledger_postings_no_truncate ON ledger_postings;
ALTER TABLE audit_log DROP COLUMN key_id;
