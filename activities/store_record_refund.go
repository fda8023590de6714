package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/domain/refunds"
	"github.com/durapay/durapay/schemas"
)

// RecordRefund writes the refund's new state and its ledger transaction in one database
// transaction. Running it twice changes nothing (deterministic ledger IDs, guarded status).
func (s *Store) RecordRefund(ctx context.Context, req schemas.RecordRefundRequest) (schemas.Refund, error) {
	var r refunds.Record
	var err error
	if req.Status == schemas.RefundFailed {
		r, err = refunds.Fail(ctx, s.pool, req.RefundID, req.FailureReason, req.At)
	} else {
		r, err = refunds.Accept(ctx, s.pool, req.RefundID, req.StripeRefundID, req.Status, req.At)
	}
	if errors.Is(err, ledger.ErrConflict) {
		return schemas.Refund{}, temporal.NewNonRetryableApplicationError(err.Error(), schemas.ErrTypeLedgerConflict, err)
	}
	if err != nil {
		return schemas.Refund{}, fmt.Errorf("record refund %s %s: %w", req.RefundID, req.Status, err)
	}
	return r.Refund, nil
}

// ExecRecordRefund runs the activity as a local activity (options from ctx).
func ExecRecordRefund(ctx workflow.Context, req schemas.RecordRefundRequest) (schemas.Refund, error) {
	var r schemas.Refund
	err := workflow.ExecuteLocalActivity(ctx, schemas.RecordRefundName, req).Get(ctx, &r)
	return r, err
}
