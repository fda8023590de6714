// Package retention deletes the rows that matter only for a while: the saved answers of
// idempotent requests, receipts of Stripe events, notification claims, webhook deliveries
// with their attempts, the consumers' inbox of events already applied, and the event log. Money (payments, refunds, the ledger), the audit log,
// merchants and their keys are never pruned.
//
// How long each table keeps its rows is the caller's policy; what may never go is decided
// here, in the statements: a request still being answered (a claim younger than a day), a send whose outcome is unknown
// (an operator must see it), a Stripe event not yet delivered, a webhook still being
// attempted or one that a newer redelivery names.
package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/schemas"
)

// statements delete at most $2 rows older than $1 each.
var statements = map[string]string{
	// A claim (status 0) is pruned only once abandoned: a day after its last claimant, when
	// no request can still be answering it.
	schemas.PrunableIdempotencyRecords: `
		DELETE FROM idempotency_records WHERE (principal, key) IN (
			SELECT principal, key FROM idempotency_records
			WHERE (status <> 0 AND created_at < $1) OR (status = 0 AND claimed_at < now() - interval '1 day') LIMIT $2)`,
	schemas.PrunableStripeEvents: `
		DELETE FROM stripe_events WHERE id IN (
			SELECT id FROM stripe_events WHERE received_at < $1 AND delivered_at IS NOT NULL LIMIT $2)`,
	schemas.PrunableNotificationSends: `
		DELETE FROM notification_sends WHERE (event_id, channel, recipient_hash) IN (
			SELECT event_id, channel, recipient_hash FROM notification_sends
			WHERE created_at < $1 AND status <> 'sending' LIMIT $2)`,
	schemas.PrunableEvents: `
		DELETE FROM events WHERE id IN (SELECT id FROM events WHERE recorded_at < $1 LIMIT $2)`,
	schemas.PrunableConsumerInbox: `
		DELETE FROM consumer_inbox WHERE (consumer, event_id) IN (
			SELECT consumer, event_id FROM consumer_inbox WHERE processed_at < $1 LIMIT $2)`,
	// A delivery goes with its attempts; one that a redelivery names goes after it.
	schemas.PrunableWebhookDeliveries: `
		WITH doomed AS (
			SELECT id FROM webhook_deliveries d
			WHERE completed_at < $1
			  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries r WHERE r.redelivery_of = d.id)
			LIMIT $2
		), attempts AS (
			DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM doomed)
		)
		DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM doomed)`,
}

// Batch bounds the rows one statement deletes, so that pruning a backlog holds no long
// locks and makes no huge transaction.
const Batch = 5_000

// Prune deletes table's rows older than before, batch after batch, calling progress after
// each with the total so far (an activity heartbeats there), and returns the total.
func Prune(ctx context.Context, pool *pgxpool.Pool, table string, before time.Time, progress func(deleted int64)) (int64, error) {
	stmt, ok := statements[table]
	if !ok {
		return 0, fmt.Errorf("retention: no rule for table %q", table)
	}
	var total int64
	for {
		tag, err := pool.Exec(ctx, stmt, before, Batch)
		if err != nil {
			return total, fmt.Errorf("retention: prune %s: %w", table, err)
		}
		// Until a batch finds nothing: a short batch may have left rows that only the rows
		// it deleted held back (an original delivery, once its redelivery is gone).
		if tag.RowsAffected() == 0 {
			return total, nil
		}
		total += tag.RowsAffected()
		progress(total)
	}
}
