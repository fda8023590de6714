package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
)

func TestRecordPaymentTwiceIsOneRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: "mer_store", Name: "Store"}); err != nil {
		t.Fatal(err)
	}
	env := newActivityEnv()
	env.RegisterActivity(activities.NewStore(pool))

	at := time.Unix(1_700_000_100, 0).UTC()
	succeeded := schemas.RecordPaymentRequest{
		Payment: schemas.Payment{ID: "pay_store", Object: "payment", Merchant: "mer_store", Amount: 2500, Currency: "eur",
			Status: schemas.PaymentSucceeded, CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_visa",
			Metadata: map[string]string{}, AmountCaptured: 2500, StripePaymentIntentID: "pi_1", Created: 1_700_000_000},
		IdempotencyKey: "k", RequestHash: "h", WorkflowID: "payment/mer_store/pay_store", StripeChargeID: "ch_1", Version: 1, At: at,
	}
	for i := 0; i < 2; i++ {
		if _, err := env.ExecuteActivity((&activities.Store{}).RecordPayment, succeeded); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	var rows, txns, postings int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM payments), (SELECT count(*) FROM ledger_transactions), (SELECT count(*) FROM ledger_postings)`).
		Scan(&rows, &txns, &postings); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || txns != 2 || postings != 4 {
		t.Fatalf("after two runs: %d payments, %d ledger transactions, %d postings; want 1, 2 (capture, fee), 4", rows, txns, postings)
	}
	// The platform's EUR plan: 1.5 % of 25.00 = 0.375, rounded to 0.38, plus 0.25.
	owed, err := ledger.Balance(ctx, pool, ledger.Account{Owner: "mer_store", Kind: ledger.MerchantBalance, Currency: "eur"})
	if err != nil || owed != -2437 {
		t.Fatalf("merchant balance %d (%v), want -2437: 25.00 EUR less a 0.63 fee owed to the merchant", owed, err)
	}
	capture, err := ledger.Get(ctx, pool, ledger.TransactionID("pay_store", "capture"))
	if err != nil || capture.ExternalRef != "ch_1" {
		t.Fatalf("capture %+v %v: want the Stripe charge recorded for reconciliation", capture, err)
	}
	got, err := payments.Get(ctx, pool, "mer_store", "pay_store")
	if err != nil || got.Status != schemas.PaymentSucceeded || got.AmountCaptured != 2500 {
		t.Fatalf("read model: %+v %v", got, err)
	}
}

func TestRecordFailedPaymentPostsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: "mer_store", Name: "Store"}); err != nil {
		t.Fatal(err)
	}
	env := newActivityEnv()
	env.RegisterActivity(activities.NewStore(pool))
	failed := schemas.RecordPaymentRequest{
		Payment: schemas.Payment{ID: "pay_failed", Object: "payment", Merchant: "mer_store", Amount: 2500, Currency: "usd",
			Status: schemas.PaymentFailed, CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_chargeDeclined",
			Metadata: map[string]string{}, Failure: &schemas.PaymentFailure{Type: "card_error", Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."},
			Created: 1_700_000_000},
		IdempotencyKey: "k", RequestHash: "h", WorkflowID: "payment/mer_store/pay_failed", Version: 1, At: time.Now(),
	}
	if _, err := env.ExecuteActivity((&activities.Store{}).RecordPayment, failed); err != nil {
		t.Fatal(err)
	}
	var txns int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions`).Scan(&txns); err != nil || txns != 0 {
		t.Fatalf("%d ledger transactions for a declined payment (%v), want 0", txns, err)
	}
	got, err := payments.Get(ctx, pool, "mer_store", "pay_failed")
	if err != nil || got.Failure == nil || got.Failure.DeclineCode != "generic_decline" {
		t.Fatalf("read model: %+v %v", got, err)
	}
}
