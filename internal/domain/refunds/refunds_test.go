package refunds_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/domain/fees"
	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/domain/refunds"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// capturedPayment records a payment of amount, captured (or not), with its ledger postings.
func capturedPayment(t *testing.T, pool *pgxpool.Pool, merchantID, paymentID string, amount int64, status schemas.PaymentStatus) {
	t.Helper()
	ctx := context.Background()
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: merchantID, Name: merchantID}); err != nil {
		t.Fatal(err)
	}
	p := schemas.Payment{ID: paymentID, Merchant: merchantID, Amount: amount, Currency: "usd", Status: status,
		CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_visa", Metadata: map[string]string{}, Created: 1_700_000_000}
	if status == schemas.PaymentSucceeded {
		p.AmountCaptured = amount
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := payments.Save(ctx, tx, payments.Record{Payment: p, IdempotencyKey: paymentID, RequestHash: "h",
			WorkflowID: "payment/" + merchantID + "/" + paymentID, Version: 1, UpdatedAt: time.Now()}); err != nil {
			return err
		}
		if p.AmountCaptured == 0 {
			return nil
		}
		return fees.PostCapture(ctx, tx, paymentID, merchantID, "ch_"+paymentID, money.Amount{Minor: amount, Currency: "usd"}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func refundOf(merchantID, paymentID, key string, amount int64) refunds.Record {
	id := schemas.RefundID(merchantID, key)
	return refunds.Record{Refund: schemas.Refund{ID: id, Merchant: merchantID, Payment: paymentID, Amount: amount, Created: 1_700_000_100},
		IdempotencyKey: key, RequestHash: fmt.Sprint(amount), WorkflowID: schemas.RefundWorkflowID(merchantID, id)}
}

// 50 concurrent refunds of one payment, totalling more than was captured: the row lock lets
// exactly as many through as fit.
func TestConcurrentRefundsNeverExceedTheCapture(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	capturedPayment(t, pool, "mer_r", "pay_r", 5000, schemas.PaymentSucceeded)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := refunds.Reserve(ctx, pool, refundOf("mer_r", "pay_r", fmt.Sprint("k", i), 300))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, refunds.ErrExceedsRemaining):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := payments.Get(ctx, pool, "mer_r", "pay_r")
	if err != nil {
		t.Fatal(err)
	}
	if accepted != 16 || refused != 34 || got.AmountRefunded != 4800 || got.Status != schemas.PaymentPartiallyRefunded {
		t.Fatalf("%d accepted, %d refused; payment refunded %d, %s; want 16, 34, 4800, partially_refunded", accepted, refused, got.AmountRefunded, got.Status)
	}
}

func TestRefundLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	capturedPayment(t, pool, "mer_l", "pay_l", 2000, schemas.PaymentSucceeded)
	capturedPayment(t, pool, "mer_n", "pay_n", 2000, schemas.PaymentRequiresCapture)
	if _, err := refunds.Reserve(ctx, pool, refundOf("mer_n", "pay_n", "k", 0)); !errors.Is(err, refunds.ErrNotCaptured) {
		t.Fatalf("refund of an uncaptured payment: %v", err)
	}
	if _, err := refunds.Reserve(ctx, pool, refundOf("mer_l", "pay_other", "k", 0)); !errors.Is(err, pg.ErrNotFound) {
		t.Fatalf("refund of a missing payment: %v", err)
	}
	if _, err := refunds.Reserve(ctx, pool, refundOf("mer_l", "pay_l", "too-much", 2001)); !errors.Is(err, refunds.ErrExceedsRemaining) {
		t.Fatalf("too much: %v", err)
	}
	all, err := refunds.Reserve(ctx, pool, refundOf("mer_l", "pay_l", "all", 0))
	if err != nil || all.Amount != 2000 || all.Status != schemas.RefundPending {
		t.Fatalf("refund of all that remains: %+v %v", all, err)
	}
	if again, err := refunds.Reserve(ctx, pool, refundOf("mer_l", "pay_l", "all", 0)); err != nil || again.ID != all.ID {
		t.Fatalf("a retried reservation: %+v %v", again, err)
	}
	changed := refundOf("mer_l", "pay_l", "all", 0)
	changed.RequestHash = "another request"
	if _, err := refunds.Reserve(ctx, pool, changed); !errors.Is(err, refunds.ErrConflict) {
		t.Fatalf("the same refund ID for another request: %v", err)
	}
	at := time.Unix(1_700_000_200, 0)
	for i := 0; i < 2; i++ {
		if r, err := refunds.Accept(ctx, pool, all.ID, "re_1", schemas.RefundSucceeded, at); err != nil || r.Status != schemas.RefundSucceeded {
			t.Fatalf("accept %d: %+v %v", i, r, err)
		}
	}
	if p, _ := payments.Get(ctx, pool, "mer_l", "pay_l"); p.Status != schemas.PaymentRefunded || p.AmountRefunded != 2000 {
		t.Fatalf("payment after a full refund: %s %d", p.Status, p.AmountRefunded)
	}
	refundsBalance, _ := ledger.Balance(ctx, pool, ledger.Account{Owner: "mer_l", Kind: ledger.Refunds, Currency: "usd"})
	if refundsBalance != 2000 {
		t.Fatalf("refunds account %d, want 2000", refundsBalance)
	}
	// Stripe reports the refund failed: reversed in the ledger, refundable again.
	for i := 0; i < 2; i++ {
		if r, err := refunds.Fail(ctx, pool, all.ID, "expired_or_canceled_card", at); err != nil || r.Status != schemas.RefundFailed {
			t.Fatalf("fail %d: %+v %v", i, r, err)
		}
	}
	if r, _ := refunds.Accept(ctx, pool, all.ID, "re_1", schemas.RefundSucceeded, at); r.Status != schemas.RefundFailed {
		t.Fatalf("a late acceptance revived a failed refund: %s", r.Status)
	}
	refundsBalance, _ = ledger.Balance(ctx, pool, ledger.Account{Owner: "mer_l", Kind: ledger.Refunds, Currency: "usd"})
	p, _ := payments.Get(ctx, pool, "mer_l", "pay_l")
	if refundsBalance != 0 || p.Status != schemas.PaymentSucceeded || p.AmountRefunded != 0 {
		t.Fatalf("after the failure: refunds account %d, payment %s refunded %d", refundsBalance, p.Status, p.AmountRefunded)
	}
	list, err := refunds.ForPayment(ctx, pool, "mer_l", "pay_l")
	if err != nil || len(list) != 1 || list[0].FailureReason != "expired_or_canceled_card" {
		t.Fatalf("refunds of the payment: %+v %v", list, err)
	}
}
