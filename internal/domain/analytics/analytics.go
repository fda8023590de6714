// Package analytics keeps live payment analytics: per merchant, currency and minute, what
// succeeded, what failed, the volume captured, what was refunded and how long payments took
// to succeed. A Kafka consumer feeds it events with Apply; the HTTP API reads it with
// Minutes; Prometheus scrapes the Store itself (it is a prometheus.Collector).
//
// # What is counted
//
// Only outcomes are counted, each in the minute (UTC) of the event's Created time, that is
// when the outcome happened:
//
//   - payment.succeeded: one succeeded payment; its amount captured (its amount if none is
//     given) is added to the volume, and the seconds from the payment's creation to the
//     event to the time to success.
//   - payment.failed: one failed payment.
//   - refund.succeeded: one refund, and its amount, in the refund's currency.
//
// Everything else is ignored. There is no payment.created event, and the first event of a
// payment (requires_action, authorized, succeeded...) depends on its path, so payments are
// counted by outcome, not at creation. The success rate is therefore succeeded / (succeeded + failed), by the minute of
// the outcome. Canceled payments are neither: a cancellation is the merchant's (or an
// expired authorization's) decision, not a payment the platform failed to take.
//
// The refund rate is refunded amount / volume over the same minutes. A refund is counted
// when it succeeds, usually long after its payment, so over a short range the rate says
// how much went back against what came in, and can exceed 1. A refund Stripe fails after
// it succeeded (rare: a closed card, days later) is not subtracted: the refund.failed event
// does not say the refund had succeeded before.
//
// # Exactly once
//
// Kafka delivers at least once. Apply records the event's ID in consumer_inbox and adds to
// the minute in one transaction, so a redelivered event finds its ID and adds nothing.
// Prometheus counters move after that commit, only for events that were applied.
package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// ErrBadEvent: the event cannot be counted (malformed data, no currency, an unknown schema
// version). Retrying will not help; the consumer dead-letters it.
var ErrBadEvent = errors.New("bad analytics event")

// Store aggregates events into analytics_minutes. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	metrics *metrics
}

// NewStore returns a Store on pool. Register it with a Prometheus registry to export its
// metrics.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, metrics: newMetrics()}
}

// delta is what one event adds to one minute.
type delta struct {
	merchant       string
	currency       money.Currency
	minute         time.Time
	succeeded      int64
	failed         int64
	volume         int64
	refunds        int64
	refunded       int64
	successSeconds int64
}

// Apply counts ev for consumer. applied is false when ev was already counted (a redelivery)
// and when its type is not counted at all; neither writes anything. An event that cannot be
// counted returns an error wrapping ErrBadEvent, and writes nothing either. published is
// when the event reached Kafka (its message's timestamp, to the millisecond), from which
// the lag gauge measures; zero falls back on the event's own time (whole seconds).
func (s *Store) Apply(ctx context.Context, consumer string, ev schemas.Event, published time.Time) (applied bool, err error) {
	if consumer == "" {
		return false, errors.New("analytics: apply: consumer name is empty")
	}
	d, counted, err := deltaOf(ev)
	if err != nil || !counted {
		return false, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Concurrent deliveries of one event queue on this row's key: the first inserts it,
		// the others wait for its commit and then insert nothing.
		tag, err := tx.Exec(ctx, `INSERT INTO consumer_inbox (consumer, event_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, consumer, ev.ID)
		if err != nil {
			return fmt.Errorf("record event %s in the inbox: %w", ev.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		applied = true
		_, err = tx.Exec(ctx, `
			INSERT INTO analytics_minutes AS m (merchant_id, currency, minute, payments_succeeded,
			    payments_failed, volume, refunds_succeeded, refunded_amount, success_seconds)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (merchant_id, currency, minute) DO UPDATE SET
			    payments_succeeded = m.payments_succeeded + EXCLUDED.payments_succeeded,
			    payments_failed    = m.payments_failed + EXCLUDED.payments_failed,
			    volume             = m.volume + EXCLUDED.volume,
			    refunds_succeeded  = m.refunds_succeeded + EXCLUDED.refunds_succeeded,
			    refunded_amount    = m.refunded_amount + EXCLUDED.refunded_amount,
			    success_seconds    = m.success_seconds + EXCLUDED.success_seconds`,
			d.merchant, d.currency.String(), d.minute, d.succeeded, d.failed, d.volume,
			d.refunds, d.refunded, d.successSeconds)
		if err != nil {
			return fmt.Errorf("add event %s to its minute: %w", ev.ID, err)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("analytics: apply %s: %w", ev.Type, err)
	}
	if applied {
		if published.IsZero() {
			published = time.Unix(ev.Created, 0)
		}
		s.metrics.observe(d, time.Since(published))
	}
	return applied, nil
}

// deltaOf reads what ev adds; counted is false for the event types that add nothing.
func deltaOf(ev schemas.Event) (d delta, counted bool, err error) {
	switch ev.Type {
	case schemas.EventPaymentSucceeded, schemas.EventPaymentFailed, schemas.EventRefundSucceeded:
	default:
		return delta{}, false, nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s %q: %s", ErrBadEvent, ev.Type, ev.ID, fmt.Sprintf(format, args...))
	}
	if ev.ID == "" {
		return delta{}, false, bad("no event ID")
	}
	if ev.Merchant == "" {
		return delta{}, false, bad("no merchant")
	}
	if ev.Created <= 0 {
		return delta{}, false, bad("created %d is not a time", ev.Created)
	}
	d = delta{merchant: ev.Merchant, minute: time.Unix(ev.Created, 0).UTC().Truncate(time.Minute)}

	var merchant, currency string
	if ev.Type == schemas.EventRefundSucceeded {
		if ev.SchemaVersion != schemas.RefundEventSchemaVersion {
			return delta{}, false, bad("unknown schema version %d", ev.SchemaVersion)
		}
		var r schemas.Refund
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			return delta{}, false, bad("decode refund: %v", err)
		}
		if r.Amount <= 0 {
			return delta{}, false, bad("refund amount %d", r.Amount)
		}
		merchant, currency = r.Merchant, r.Currency
		d.refunds, d.refunded = 1, r.Amount
	} else {
		if ev.SchemaVersion != schemas.PaymentEventSchemaVersion {
			return delta{}, false, bad("unknown schema version %d", ev.SchemaVersion)
		}
		var p schemas.Payment
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			return delta{}, false, bad("decode payment: %v", err)
		}
		merchant, currency = p.Merchant, p.Currency
		if ev.Type == schemas.EventPaymentFailed {
			d.failed = 1
		} else {
			d.succeeded, d.volume = 1, p.AmountCaptured
			if d.volume == 0 {
				d.volume = p.Amount
			}
			if d.volume <= 0 {
				return delta{}, false, bad("captured %d of %d", p.AmountCaptured, p.Amount)
			}
			if p.Created <= 0 {
				return delta{}, false, bad("payment created %d is not a time", p.Created)
			}
			// Clocks of different hosts stamp the two times: never count a negative duration.
			d.successSeconds = max(0, ev.Created-p.Created)
		}
	}
	// The envelope's merchant is what the row is keyed by; data naming another merchant
	// means the event is not what it claims to be.
	if merchant != ev.Merchant {
		return delta{}, false, bad("data is about merchant %q, the envelope about %q", merchant, ev.Merchant)
	}
	if currency == "" {
		return delta{}, false, bad("no currency")
	}
	if d.currency, err = money.ParseCurrency(currency); err != nil {
		return delta{}, false, bad("%v", err)
	}
	return d, true, nil
}

// PruneInbox deletes up to limit event IDs counted before before. What they counted stays
// counted: only the dedupe of a redelivery that old is given up.
func PruneInbox(ctx context.Context, q pg.Querier, before time.Time, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `
		DELETE FROM consumer_inbox WHERE (consumer, event_id) IN (
			SELECT consumer, event_id FROM consumer_inbox WHERE processed_at < $1 LIMIT $2)`, before, limit)
	return tag.RowsAffected(), err
}
