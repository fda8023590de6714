package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/domain/refunds"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// ReserveRefund records the refund as pending under its payment's row lock (see
// internal/domain/refunds), or refuses it: PaymentNotCaptured, RefundExceedsRemaining, both
// non-retryable answers for the client. Running it twice reserves once.
func (s *Store) ReserveRefund(ctx context.Context, req schemas.ReserveRefundRequest) (schemas.ReservedRefund, error) {
	in := req.Input
	r, err := refunds.Reserve(ctx, s.pool, refunds.Record{
		Refund: schemas.Refund{ID: in.RefundID, Merchant: in.MerchantID, Payment: in.PaymentID, Amount: in.Amount,
			Reason: in.Reason, Metadata: in.Metadata, Created: req.At.Unix()},
		IdempotencyKey: in.IdempotencyKey, RequestHash: in.RequestHash, WorkflowID: req.WorkflowID,
	})
	switch {
	case errors.Is(err, refunds.ErrNotCaptured), errors.Is(err, pg.ErrNotFound):
		return schemas.ReservedRefund{}, temporal.NewNonRetryableApplicationError(err.Error(), schemas.ErrTypePaymentNotCaptured, err)
	case errors.Is(err, refunds.ErrExceedsRemaining):
		return schemas.ReservedRefund{}, temporal.NewNonRetryableApplicationError(err.Error(), schemas.ErrTypeRefundExceedsRemaining, err)
	case errors.Is(err, refunds.ErrConflict):
		return schemas.ReservedRefund{}, temporal.NewNonRetryableApplicationError(err.Error(), schemas.ErrTypeRefundConflict, err)
	case err != nil:
		return schemas.ReservedRefund{}, fmt.Errorf("reserve refund %s: %w", in.RefundID, err)
	}
	p, err := payments.Get(ctx, s.pool, in.MerchantID, in.PaymentID)
	if err != nil {
		return schemas.ReservedRefund{}, fmt.Errorf("read payment %s: %w", in.PaymentID, err)
	}
	return schemas.ReservedRefund{Refund: r.Refund, PaymentIntentID: p.StripePaymentIntentID}, nil
}

// ExecReserveRefund runs the activity as a local activity (options from ctx).
func ExecReserveRefund(ctx workflow.Context, req schemas.ReserveRefundRequest) (schemas.ReservedRefund, error) {
	var r schemas.ReservedRefund
	err := workflow.ExecuteLocalActivity(ctx, schemas.ReserveRefundName, req).Get(ctx, &r)
	return r, err
}
