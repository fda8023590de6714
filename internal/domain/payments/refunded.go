package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// Refundable is what a refund needs to know of its payment.
type Refundable struct {
	Merchant           string
	Status             schemas.PaymentStatus
	Currency           string
	Captured, Refunded int64 // minor units
}

// LockRefundable reads the payment's refundable amounts and locks its row until tx ends:
// the lock that serializes every refund of one payment. pg.ErrNotFound when it does not exist.
func LockRefundable(ctx context.Context, tx pgx.Tx, paymentID string) (Refundable, error) {
	var r Refundable
	err := tx.QueryRow(ctx, `SELECT merchant_id, status, currency, amount_captured, amount_refunded FROM payments
		WHERE id = $1 FOR UPDATE`, paymentID).Scan(&r.Merchant, &r.Status, &r.Currency, &r.Captured, &r.Refunded)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, pg.ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("lock payment %s: %w", paymentID, err)
	}
	return r, nil
}

// SetRefunded moves the payment's refunded amount and, with it, its status: refunded when
// nothing of captured is left, partially refunded when some is, succeeded when none is refunded.
func SetRefunded(ctx context.Context, tx pgx.Tx, paymentID string, refunded, captured int64, at time.Time) error {
	status := schemas.PaymentSucceeded
	switch {
	case refunded == captured:
		status = schemas.PaymentRefunded
	case refunded > 0:
		status = schemas.PaymentPartiallyRefunded
	}
	if _, err := tx.Exec(ctx, `UPDATE payments SET amount_refunded = $2, status = $3, updated_at = $4 WHERE id = $1`,
		paymentID, refunded, status, at); err != nil {
		return fmt.Errorf("update refunded amount of %s: %w", paymentID, err)
	}
	return nil
}
