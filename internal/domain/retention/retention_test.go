package retention_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/domain/retention"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
)

// Each table loses its old rows and keeps the young ones, and the rows that must never go
// stay whatever their age.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	now := time.Now()
	old, young := now.Add(-100*24*time.Hour), now.Add(-time.Hour)
	exec(t, pool, `INSERT INTO merchants (id, name) VALUES ('mer_r', 'R')`)
	exec(t, pool, `INSERT INTO webhook_endpoints (id, merchant_id, url, enabled_events, secret) VALUES ('we_r', 'mer_r', 'https://x', '{*}', '\x00')`)
	for _, at := range []time.Time{old, young} {
		suffix := at.Format("150405.000")
		exec(t, pool, `INSERT INTO idempotency_records (principal, key, route, request_hash, status, created_at) VALUES ('p', $1, 'POST /v1/refunds', 'h', 200, $2)`, "done-"+suffix, at)
		exec(t, pool, `INSERT INTO stripe_events (id, type, object_id, created_at, received_at, source, delivered_at) VALUES ($1, 'payment_intent.succeeded', 'pi', $2, $2, 'webhook', $2)`, "evt_done-"+suffix, at)
		exec(t, pool, `INSERT INTO notification_sends (event_id, channel, recipient_hash, merchant_id, event_type, template, status, created_at) VALUES ($1, 'email', sha256('a'), 'mer_r', 'payment.succeeded', 'receipt', 'sent', $2)`, "ev_sent-"+suffix, at)
		exec(t, pool, `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payload, status, created_at, completed_at) VALUES ($1, 'we_r', 'mer_r', $1, 'payment.succeeded', '{}', 'succeeded', $2, $2)`, "whd_done-"+suffix, at)
		exec(t, pool, `INSERT INTO webhook_attempts (delivery_id, attempt, at, duration_ms, status_code) VALUES ($1, 1, $2, 5, 200)`, "whd_done-"+suffix, at)
		exec(t, pool, `INSERT INTO consumer_inbox (consumer, event_id, processed_at) VALUES ('durapay-analytics', $1, $2)`, "evt_counted-"+suffix, at)
		exec(t, pool, `INSERT INTO events (id, merchant_id, type, topic, key, payload, created_at, recorded_at) VALUES ($1, 'mer_r', 'payment.succeeded', 'durapay.payments.v1', 'pay_r', '{}', $2, $2)`, "evt_logged-"+suffix, at)
	}
	// What the inbox counted stays counted: pruning forgets event IDs, never figures.
	exec(t, pool, `INSERT INTO analytics_minutes (merchant_id, currency, minute, payments_failed) VALUES ('mer_r', 'usd', date_trunc('minute', $1::timestamptz), 3)`, old)
	// Never pruned, however old: a request still being answered, a send whose outcome is
	// unknown, an event not delivered yet, a delivery still being attempted, and one that a
	// young redelivery names.
	exec(t, pool, `INSERT INTO idempotency_records (principal, key, route, request_hash, created_at, claimed_at) VALUES ('p', 'running', 'POST /v1/refunds', 'h', $1, now())`, old)
	// A claim whose request died mid-way a day ago and was never retried: abandoned.
	exec(t, pool, `INSERT INTO idempotency_records (principal, key, route, request_hash, created_at, claimed_at) VALUES ('p', 'abandoned', 'POST /v1/refunds', 'h', $1, $1)`, now.Add(-25*time.Hour))
	exec(t, pool, `INSERT INTO stripe_events (id, type, object_id, created_at, received_at, source) VALUES ('evt_pending', 'payment_intent.succeeded', 'pi', $1, $1, 'backfill')`, old)
	exec(t, pool, `INSERT INTO notification_sends (event_id, channel, recipient_hash, merchant_id, event_type, template, status, created_at) VALUES ('ev_unconfirmed', 'email', sha256('a'), 'mer_r', 'payment.succeeded', 'receipt', 'sending', $1)`, old)
	exec(t, pool, `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payload, created_at) VALUES ('whd_pending', 'we_r', 'mer_r', 'ev_p', 'payment.succeeded', '{}', $1)`, old)
	exec(t, pool, `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payload, status, created_at, completed_at) VALUES ('whd_original', 'we_r', 'mer_r', 'ev_o', 'payment.succeeded', '{}', 'failed', $1, $1)`, old)
	exec(t, pool, `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payload, redelivery_of, status, created_at, completed_at) VALUES ('whd_again', 'we_r', 'mer_r', 'ev_o', 'payment.succeeded', '{}', 'whd_original', 'succeeded', $1, $1)`, young)

	before := now.Add(-90 * 24 * time.Hour)
	for table, want := range map[string]struct {
		deleted int64
		left    int
	}{
		schemas.PrunableIdempotencyRecords: {2, 2},
		schemas.PrunableStripeEvents:       {1, 2},
		schemas.PrunableNotificationSends:  {1, 2},
		schemas.PrunableWebhookDeliveries:  {1, 4},
		schemas.PrunableConsumerInbox:      {1, 1},
		schemas.PrunableEvents:             {1, 1},
	} {
		var heartbeats int
		n, err := retention.Prune(ctx, pool, table, before, func(int64) { heartbeats++ })
		if err != nil {
			t.Fatal(err)
		}
		var left int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if n != want.deleted || left != want.left || heartbeats != 1 {
			t.Errorf("%s: deleted %d, %d left, %d heartbeats; want %d deleted, %d left", table, n, left, heartbeats, want.deleted, want.left)
		}
	}
	var failed int
	if err := pool.QueryRow(ctx, `SELECT payments_failed FROM analytics_minutes WHERE merchant_id = 'mer_r'`).Scan(&failed); err != nil || failed != 3 {
		t.Errorf("analytics after pruning the inbox: %d %v, want the 3 counted", failed, err)
	}
	var attempts int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM webhook_attempts`).Scan(&attempts); err != nil || attempts != 1 {
		t.Errorf("webhook attempts left: %d %v; want the young delivery's only", attempts, err)
	}
	// Once the redelivery is old too, it goes, and then its original.
	if _, err := retention.Prune(ctx, pool, schemas.PrunableWebhookDeliveries, now.Add(time.Minute), func(int64) {}); err != nil {
		t.Fatal(err)
	}
	var deliveries int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE status <> 'pending'`).Scan(&deliveries); err != nil || deliveries != 0 {
		t.Errorf("completed deliveries left with everything old: %d %v", deliveries, err)
	}
	if _, err := retention.Prune(ctx, pool, "ledger_postings", before, func(int64) {}); err == nil {
		t.Error("a table without a rule was pruned")
	}
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
