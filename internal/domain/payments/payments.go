// Package payments stores the payments read model: what GET /v1/payments answers from.
// PaymentWorkflow is the source of truth; its activities write here.
package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// Record is a payment with what the read model keeps beside the client's view.
type Record struct {
	schemas.Payment
	IdempotencyKey string
	RequestHash    string
	WorkflowID     string
	// Attention says why the payment waits for an operator; nil when it does not.
	Attention *schemas.Attention
	// Version is the workflow's state counter: a write applies only if it is newer than the
	// stored one, so a retried or reordered write never moves a payment backwards.
	Version   int64
	UpdatedAt time.Time
}

// Save inserts or advances the payment. It reports whether the row changed; a write with a
// version not newer than the stored one changes nothing (an activity retry, a replay).
// amount_refunded is left alone on update: refunds (internal/domain/refunds) own it.
func Save(ctx context.Context, q pg.Querier, r Record) (changed bool, err error) {
	tag, err := q.Exec(ctx, `
		INSERT INTO payments (id, merchant_id, idempotency_key, request_hash, workflow_id, amount, currency,
		                      status, capture_method, payment_method, description, metadata,
		                      amount_capturable, amount_captured, amount_refunded, stripe_payment_intent_id,
		                      next_action, failure, version, created_at, updated_at, cancellation_reason, attention, customer_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
		ON CONFLICT (id) DO UPDATE SET
		       status = EXCLUDED.status,
		       amount_capturable = EXCLUDED.amount_capturable,
		       amount_captured = EXCLUDED.amount_captured,
		       stripe_payment_intent_id = EXCLUDED.stripe_payment_intent_id,
		       next_action = EXCLUDED.next_action,
		       failure = EXCLUDED.failure,
		       cancellation_reason = EXCLUDED.cancellation_reason,
		       attention = EXCLUDED.attention,
		       version = EXCLUDED.version,
		       updated_at = EXCLUDED.updated_at
		 WHERE payments.version < EXCLUDED.version`,
		r.ID, r.Merchant, r.IdempotencyKey, r.RequestHash, r.WorkflowID, r.Amount, r.Currency,
		r.Status, r.CaptureMethod, r.PaymentMethod, r.Description, r.Metadata,
		r.AmountCapturable, r.AmountCaptured, r.AmountRefunded, nullable(r.StripePaymentIntentID),
		nullableJSON(r.NextAction), r.Failure, r.Version, time.Unix(r.Created, 0).UTC(), r.UpdatedAt,
		nullable(r.CancellationReason), r.Attention, nullable(r.Customer))
	if err != nil {
		return false, fmt.Errorf("save payment %s: %w", r.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

const columns = `id, merchant_id, idempotency_key, request_hash, workflow_id, amount, currency, status,
	capture_method, payment_method, description, metadata, amount_capturable, amount_captured,
	amount_refunded, coalesce(stripe_payment_intent_id, ''), next_action, failure, version, created_at, updated_at,
	coalesce(cancellation_reason, ''), attention, coalesce(customer_id, '')`

// Get returns the merchant's payment, or pg.ErrNotFound: another merchant's payment is
// indistinguishable from a missing one.
func Get(ctx context.Context, q pg.Querier, merchantID, paymentID string) (Record, error) {
	return scan(q.QueryRow(ctx, `SELECT `+columns+` FROM payments WHERE id = $1 AND merchant_id = $2`, paymentID, merchantID))
}

// GetAny returns a payment of any merchant, for staff, or pg.ErrNotFound.
func GetAny(ctx context.Context, q pg.Querier, paymentID string) (Record, error) {
	return scan(q.QueryRow(ctx, `SELECT `+columns+` FROM payments WHERE id = $1`, paymentID))
}

// GetByIdempotencyKey returns the payment a create with this key made, or pg.ErrNotFound.
func GetByIdempotencyKey(ctx context.Context, q pg.Querier, merchantID, key string) (Record, error) {
	return scan(q.QueryRow(ctx, `SELECT `+columns+` FROM payments WHERE merchant_id = $1 AND idempotency_key = $2`, merchantID, key))
}

func scan(row pgx.Row) (Record, error) {
	var r Record
	var created time.Time
	var nextAction []byte
	err := row.Scan(&r.ID, &r.Merchant, &r.IdempotencyKey, &r.RequestHash, &r.WorkflowID, &r.Amount, &r.Currency,
		&r.Status, &r.CaptureMethod, &r.PaymentMethod, &r.Description, &r.Metadata, &r.AmountCapturable,
		&r.AmountCaptured, &r.AmountRefunded, &r.StripePaymentIntentID, &nextAction, &r.Failure, &r.Version,
		&created, &r.UpdatedAt, &r.CancellationReason, &r.Attention, &r.Customer)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, pg.ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("read payment: %w", err)
	}
	r.Object = schemas.ObjectPayment
	r.Created = created.Unix()
	if len(nextAction) > 0 {
		r.NextAction = json.RawMessage(nextAction)
	}
	return r, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}
