-- +goose Up

-- A refund whose Stripe step its retries could not complete waits for an operator, as a
-- payment does: attention says why (null when it does not wait).
ALTER TABLE refunds ADD COLUMN attention jsonb;
CREATE INDEX refunds_attention ON refunds (updated_at) WHERE attention IS NOT NULL;

-- +goose Down
DROP INDEX refunds_attention;
ALTER TABLE refunds DROP COLUMN attention;
