// Package refunds stores refunds and moves their money in the ledger.
//
// Refunds are serialized through their payment's row: Reserve locks it (SELECT ... FOR
// UPDATE), checks what remains refundable and records the refund as pending in the same
// transaction. The payment's workflow has ended by the time it can be refunded (a payment is
// refundable once it succeeded, possibly months later), so the row lock, not an update on
// that workflow, is what makes 50 concurrent refunds of one payment add up to no more than
// was captured: each waits for the one before it, and sees its reservation.
package refunds

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

var (
	// ErrNotCaptured: the payment's funds were never captured (or it failed, or was canceled).
	ErrNotCaptured = errors.New("the payment was not captured")
	// ErrExceedsRemaining: the refund asks for more than what remains of the payment.
	ErrExceedsRemaining = errors.New("the refund exceeds what remains of the payment")
	// ErrConflict: a refund with this ID exists with other fields.
	ErrConflict = errors.New("refund ID already used for a different refund")
)

// Record is a refund with what the store keeps beside the client's view.
type Record struct {
	schemas.Refund
	IdempotencyKey string
	RequestHash    string
	WorkflowID     string
	UpdatedAt      time.Time
	// Attention is why the refund waits for an operator, while it does.
	Attention *schemas.Attention
}

// Remaining is what can still be refunded of a payment: captured less every refund that
// has not failed.
type Remaining struct {
	Captured, Refunded int64
}

// Reserve records r (status pending) against its payment, unless the payment cannot give
// that much: ErrNotCaptured, ErrExceedsRemaining. r.Amount 0 reserves all that remains.
// Reserving a refund already reserved returns it unchanged (a retried activity); the same ID
// with other fields is ErrConflict.
func Reserve(ctx context.Context, pool *pgxpool.Pool, r Record) (Record, error) {
	var out Record
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		payment, err := payments.LockRefundable(ctx, tx, r.Payment)
		if err == nil && payment.Merchant != r.Merchant {
			err = pg.ErrNotFound // another merchant's payment is none of this one's
		}
		if err != nil {
			return err
		}
		existing, err := get(ctx, tx, `id = $1`, r.ID)
		if err == nil {
			if existing.Payment != r.Payment || existing.Merchant != r.Merchant || existing.RequestHash != r.RequestHash {
				return fmt.Errorf("%w: %s", ErrConflict, r.ID)
			}
			out = existing
			return nil
		}
		if !errors.Is(err, pg.ErrNotFound) {
			return err
		}
		if !payment.Status.Captured() {
			return fmt.Errorf("%w: its status is %s", ErrNotCaptured, payment.Status)
		}
		left := payment.Captured - payment.Refunded
		if r.Amount == 0 {
			r.Amount = left
		}
		if r.Amount <= 0 || r.Amount > left {
			return fmt.Errorf("%w: %d requested, %d of %d left", ErrExceedsRemaining, r.Amount, left, payment.Captured)
		}
		r.Currency, r.Status, r.Object = payment.Currency, schemas.RefundPending, schemas.ObjectRefund
		if r.Metadata == nil {
			r.Metadata = map[string]string{}
		}
		now := time.Unix(r.Created, 0).UTC()
		if _, err := tx.Exec(ctx, `
			INSERT INTO refunds (id, merchant_id, payment_id, amount, currency, status, reason, metadata,
			                     idempotency_key, request_hash, workflow_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
			r.ID, r.Merchant, r.Payment, r.Amount, r.Currency, r.Status, r.Reason, r.Metadata,
			r.IdempotencyKey, r.RequestHash, r.WorkflowID, now); err != nil {
			return fmt.Errorf("insert refund %s: %w", r.ID, err)
		}
		if err := payments.SetRefunded(ctx, tx, r.Payment, payment.Refunded+r.Amount, payment.Captured, now); err != nil {
			return err
		}
		r.UpdatedAt = now
		out = r
		return nil
	})
	return out, err
}

// Accept records Stripe's acceptance of the refund (its refund ID, and status pending or
// succeeded) and posts the refund in the ledger: Stripe takes the money back at once. It
// is safe to call again, and with succeeded after pending.
func Accept(ctx context.Context, pool *pgxpool.Pool, id, stripeRefundID string, status schemas.RefundStatus, at time.Time) (Record, error) {
	var out Record
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		r, err := lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.Status == schemas.RefundFailed { // a late or replayed acceptance changes nothing
			out = r
			return nil
		}
		amount, err := money.NewAmount(r.Amount, r.Currency)
		if err != nil {
			return err
		}
		if _, err := ledger.Post(ctx, tx, ledger.Refund(r.ID, r.Payment, r.Merchant, stripeRefundID, amount, at)); err != nil {
			return err
		}
		if r.Status == schemas.RefundSucceeded || (r.Status == status && r.StripeRefundID == stripeRefundID) {
			out = r // a replay, or pending after succeeded: nothing moves backwards
			return nil
		}
		r.Status, r.StripeRefundID, r.UpdatedAt = status, stripeRefundID, at
		if _, err := tx.Exec(ctx, `UPDATE refunds SET status = $2, stripe_refund_id = $3, updated_at = $4 WHERE id = $1`,
			r.ID, r.Status, r.StripeRefundID, at); err != nil {
			return fmt.Errorf("accept refund %s: %w", r.ID, err)
		}
		out = r
		return nil
	})
	return out, err
}

// Fail records the refund failed: refused by Stripe at creation (nothing was posted), or
// failed after Stripe accepted it (the ledger's refund is reversed). Either way its amount
// becomes refundable again. Failing a failed refund changes nothing.
func Fail(ctx context.Context, pool *pgxpool.Pool, id, reason string, at time.Time) (Record, error) {
	var out Record
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Locks in Reserve's order, payment then refund, so that the two cannot deadlock.
		var paymentID string // a refund's payment never changes: reading it unlocked is safe
		if err := tx.QueryRow(ctx, `SELECT payment_id FROM refunds WHERE id = $1`, id).Scan(&paymentID); errors.Is(err, pgx.ErrNoRows) {
			return pg.ErrNotFound
		} else if err != nil {
			return fmt.Errorf("read the payment of refund %s: %w", id, err)
		}
		payment, err := payments.LockRefundable(ctx, tx, paymentID)
		if err != nil {
			return err
		}
		r, err := lock(ctx, tx, id)
		if err != nil || r.Status == schemas.RefundFailed {
			out = r
			return err
		}
		posted, err := ledger.Get(ctx, tx, ledger.TransactionID(r.ID, "refund"))
		switch {
		case err == nil:
			if _, err := ledger.Post(ctx, tx, ledger.RefundReversal(posted, at)); err != nil {
				return err
			}
		case !errors.Is(err, pg.ErrNotFound):
			return err
		}
		if err := payments.SetRefunded(ctx, tx, r.Payment, payment.Refunded-r.Amount, payment.Captured, at); err != nil {
			return err
		}
		r.Status, r.FailureReason, r.UpdatedAt = schemas.RefundFailed, reason, at
		if _, err := tx.Exec(ctx, `UPDATE refunds SET status = $2, failure_reason = $3, updated_at = $4 WHERE id = $1`,
			r.ID, r.Status, reason, at); err != nil {
			return fmt.Errorf("fail refund %s: %w", r.ID, err)
		}
		out = r
		return nil
	})
	return out, err
}

// SetAttention records why the refund waits for an operator (nil: it no longer does).
func SetAttention(ctx context.Context, q pg.Querier, id string, attention *schemas.Attention) error {
	if _, err := q.Exec(ctx, `UPDATE refunds SET attention = $2 WHERE id = $1`, id, attention); err != nil {
		return fmt.Errorf("record the attention of refund %s: %w", id, err)
	}
	return nil
}

// GetAny returns any merchant's refund, for staff, or pg.ErrNotFound.
func GetAny(ctx context.Context, q pg.Querier, id string) (Record, error) {
	return get(ctx, q, `id = $1`, id)
}

// Get returns the merchant's refund, or pg.ErrNotFound.
func Get(ctx context.Context, q pg.Querier, merchantID, id string) (Record, error) {
	return get(ctx, q, `id = $1 AND merchant_id = $2`, id, merchantID)
}

// ForPayment lists a payment's refunds, oldest first.
func ForPayment(ctx context.Context, q pg.Querier, merchantID, paymentID string) ([]Record, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM refunds WHERE payment_id = $1 AND merchant_id = $2 ORDER BY created_at, id`,
		paymentID, merchantID)
	if err != nil {
		return nil, fmt.Errorf("list refunds of %s: %w", paymentID, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Record, error) { return scan(row) })
}

const columns = `id, merchant_id, payment_id, amount, currency, status, reason, metadata, idempotency_key, request_hash,
	workflow_id, coalesce(stripe_refund_id, ''), coalesce(failure_reason, ''), created_at, updated_at, attention`

func lock(ctx context.Context, tx pgx.Tx, id string) (Record, error) {
	return scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM refunds WHERE id = $1 FOR UPDATE`, id))
}

func get(ctx context.Context, q pg.Querier, where string, args ...any) (Record, error) {
	return scan(q.QueryRow(ctx, `SELECT `+columns+` FROM refunds WHERE `+where, args...))
}

func scan(row pgx.Row) (Record, error) {
	var r Record
	var created time.Time
	err := row.Scan(&r.ID, &r.Merchant, &r.Payment, &r.Amount, &r.Currency, &r.Status, &r.Reason, &r.Metadata,
		&r.IdempotencyKey, &r.RequestHash, &r.WorkflowID, &r.StripeRefundID, &r.FailureReason, &created, &r.UpdatedAt, &r.Attention)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, pg.ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("read refund: %w", err)
	}
	r.Object, r.Created = schemas.ObjectRefund, created.Unix()
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	return r, nil
}
