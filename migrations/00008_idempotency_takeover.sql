-- +goose Up

-- An idempotent request claims its key (status 0) before it acts. claimed_at is when the
-- current claimant took it: a claim older than a request can live (its process died) is
-- taken over by the next retry of the same request, instead of answering 409 forever.
ALTER TABLE idempotency_records ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT now();
UPDATE idempotency_records SET claimed_at = created_at;
-- Retention prunes claims abandoned mid-request.
CREATE INDEX idempotency_records_claimed ON idempotency_records (claimed_at) WHERE status = 0;

-- +goose Down
DROP INDEX idempotency_records_claimed;
ALTER TABLE idempotency_records DROP COLUMN claimed_at;
