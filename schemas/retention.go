package schemas

import "time"

const (
	RetentionWorkflowName = "Retention"
	ScheduleRetention     = "daily-retention"
)

// Tables the RetentionWorkflow may prune (internal/domain/retention decides, per table, which rows
// may never go). Money (payments, refunds, the ledger), the audit log, merchants and their
// keys are never pruned.
const (
	PrunableIdempotencyRecords = "idempotency_records"
	PrunableStripeEvents       = "stripe_events"
	PrunableNotificationSends  = "notification_sends"
	PrunableWebhookDeliveries  = "webhook_deliveries" // with their attempts
	// PrunableConsumerInbox: an event whose row is gone would be applied again if Kafka
	// redelivered it, so its retention must exceed the topics' (plus a margin).
	PrunableConsumerInbox = "consumer_inbox"
	// PrunableEvents: the event log. Consumers refuse an event that is not in it, so it must
	// outlive any replay of an event (Kafka's retention, dead letters).
	PrunableEvents = "events"
)

// Prunable reports whether the RetentionWorkflow may prune table.
func Prunable(table string) bool {
	switch table {
	case PrunableIdempotencyRecords, PrunableStripeEvents, PrunableNotificationSends, PrunableWebhookDeliveries,
		PrunableConsumerInbox, PrunableEvents:
		return true
	}
	return false
}

// MinRetention is the shortest retention accepted: a misconfigured zero must not empty the
// tables that make retries safe.
const MinRetention = 24 * time.Hour

// RetentionInput says how long each prunable table keeps its rows (internal/domain/retention).
type RetentionInput struct {
	Rules []RetentionRule
}

// RetentionRule keeps Table's rows for Keep.
type RetentionRule struct {
	Table string
	Keep  time.Duration
}

// RetentionResult counts the rows deleted, per table.
type RetentionResult struct {
	Deleted map[string]int64
}
