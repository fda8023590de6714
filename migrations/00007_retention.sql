-- +goose Up

-- Indexes for the retention workflow (internal/retention), which deletes old rows in
-- batches by these columns, and for unconfirmed sends.
CREATE INDEX idempotency_records_created ON idempotency_records (created_at);
CREATE INDEX stripe_events_received ON stripe_events (received_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX notification_sends_created ON notification_sends (created_at);
-- Unconfirmed sends, for operators and the durapay_notifications_unconfirmed gauge.
CREATE INDEX notification_sends_unconfirmed ON notification_sends (updated_at) WHERE status = 'sending';
CREATE INDEX webhook_deliveries_completed ON webhook_deliveries (completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX consumer_inbox_processed ON consumer_inbox (processed_at);
CREATE INDEX webhook_deliveries_redelivery_of ON webhook_deliveries (redelivery_of) WHERE redelivery_of IS NOT NULL;

-- +goose Down
DROP INDEX webhook_deliveries_redelivery_of;
DROP INDEX consumer_inbox_processed;
DROP INDEX webhook_deliveries_completed;
DROP INDEX notification_sends_unconfirmed;
DROP INDEX notification_sends_created;
DROP INDEX stripe_events_received;
DROP INDEX idempotency_records_created;
