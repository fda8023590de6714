package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/payments"
	"github.com/durapay/durapay/internal/pg"
	"github.com/durapay/durapay/internal/refunds"
	"github.com/durapay/durapay/schemas"
)

// ReserveRefundName is the activity's registered name.
const ReserveRefundName = "store.ReserveRefund"

// ErrTypeRefundConflict: a refund ID was already used for another request. A bug, never
// fixed by retrying.
const ErrTypeRefundConflict = "RefundConflict"

// ReserveRefundRequest is a refund to reserve against its payment.
type ReserveRefundRequest struct {
	Input      schemas.RefundInput
	WorkflowID string
	At         time.Time
}

// ReservedRefund is the reserved refund and the PaymentIntent to refund.
type ReservedRefund struct {
	Refund          schemas.Refund
	PaymentIntentID string
}

// ReserveRefund records the refund as pending under its payment's row lock (see
// internal/refunds), or refuses it: PaymentNotCaptured, RefundExceedsRemaining, both
// non-retryable answers for the client. Running it twice reserves once.
func (s *Store) ReserveRefund(ctx context.Context, req ReserveRefundRequest) (ReservedRefund, error) {
	in := req.Input
	r, err := refunds.Reserve(ctx, s.pool, refunds.Record{
		Refund: schemas.Refund{ID: in.RefundID, Merchant: in.MerchantID, Payment: in.PaymentID, Amount: in.Amount,
			Reason: in.Reason, Metadata: in.Metadata, Created: req.At.Unix()},
		IdempotencyKey: in.IdempotencyKey, RequestHash: in.RequestHash, WorkflowID: req.WorkflowID,
	})
	switch {
	case errors.Is(err, refunds.ErrNotCaptured), errors.Is(err, pg.ErrNotFound):
		return ReservedRefund{}, temporal.NewNonRetryableApplicationError(err.Error(), schemas.ErrTypePaymentNotCaptured, err)
	case errors.Is(err, refunds.ErrExceedsRemaining):
		return ReservedRefund{}, temporal.NewNonRetryableApplicationError(err.Error(), schemas.ErrTypeRefundExceedsRemaining, err)
	case errors.Is(err, refunds.ErrConflict):
		return ReservedRefund{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRefundConflict, err)
	case err != nil:
		return ReservedRefund{}, fmt.Errorf("reserve refund %s: %w", in.RefundID, err)
	}
	p, err := payments.Get(ctx, s.pool, in.MerchantID, in.PaymentID)
	if err != nil {
		return ReservedRefund{}, fmt.Errorf("read payment %s: %w", in.PaymentID, err)
	}
	return ReservedRefund{Refund: r.Refund, PaymentIntentID: p.StripePaymentIntentID}, nil
}

// ExecReserveRefund runs the activity as a local activity (options from ctx).
func ExecReserveRefund(ctx workflow.Context, req ReserveRefundRequest) (ReservedRefund, error) {
	var r ReservedRefund
	err := workflow.ExecuteLocalActivity(ctx, ReserveRefundName, req).Get(ctx, &r)
	return r, err
}
