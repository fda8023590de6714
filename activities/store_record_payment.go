package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/fees"
	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// RecordPayment writes the payment's read-model row and, once funds are captured, the
// ledger's capture transaction and Durapay's fee, in one database transaction: the read
// model never shows a capture the ledger lacks. Running it twice changes nothing (version check, deterministic
// ledger transaction ID).
func (s *Store) RecordPayment(ctx context.Context, req schemas.RecordPaymentRequest) error {
	p := req.Payment
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := payments.Save(ctx, tx, payments.Record{Payment: p, IdempotencyKey: req.IdempotencyKey,
			RequestHash: req.RequestHash, WorkflowID: req.WorkflowID, Attention: req.Attention, Version: req.Version, UpdatedAt: req.At})
		if err != nil || p.AmountCaptured == 0 {
			return err
		}
		captured, err := money.NewAmount(p.AmountCaptured, p.Currency)
		if err != nil {
			return fmt.Errorf("captured amount of %s: %w", p.ID, err)
		}
		return fees.PostCapture(ctx, tx, p.ID, p.Merchant, req.StripeChargeID, captured, req.At)
	})
	if errors.Is(err, ledger.ErrConflict) {
		return temporal.NewNonRetryableApplicationError(err.Error(), schemas.ErrTypeLedgerConflict, err)
	}
	if err != nil {
		return fmt.Errorf("record payment %s version %d: %w", p.ID, req.Version, err)
	}
	return nil
}

// ExecRecordPayment runs the activity from workflow code as a local activity: a single
// short transaction that the synchronous answer waits for.
func ExecRecordPayment(ctx workflow.Context, req schemas.RecordPaymentRequest) error {
	return workflow.ExecuteLocalActivity(ctx, schemas.RecordPaymentName, req).Get(ctx, nil)
}
