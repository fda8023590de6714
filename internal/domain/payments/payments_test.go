package payments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
)

func record(version int64, status schemas.PaymentStatus) payments.Record {
	return payments.Record{
		Payment: schemas.Payment{ID: "pay_x", Object: schemas.ObjectPayment, Merchant: "mer_one", Amount: 2000, Currency: "usd",
			Status: status, CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_visa",
			Metadata: map[string]string{"order": "7"}, Created: 1_700_000_000},
		IdempotencyKey: "k1", RequestHash: "hash", WorkflowID: "payment/mer_one/pay_x", Version: version,
		UpdatedAt: time.Unix(1_700_000_000+version, 0).UTC(),
	}
}

func TestSaveAppliesOnlyNewerVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	for _, id := range []string{"mer_one", "mer_two"} {
		if err := merchants.Create(ctx, pool, merchants.Merchant{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	v2 := record(2, schemas.PaymentSucceeded)
	v2.AmountCaptured = 2000
	v2.StripePaymentIntentID = "pi_123"
	steps := []struct {
		rec         payments.Record
		wantChanged bool
	}{
		{record(1, schemas.PaymentProcessing), true},
		{v2, true},
		{v2, false}, // a retried write
		{record(1, schemas.PaymentProcessing), false}, // a late, older write
	}
	for i, s := range steps {
		changed, err := payments.Save(ctx, pool, s.rec)
		if err != nil || changed != s.wantChanged {
			t.Fatalf("step %d: changed=%v err=%v, want changed=%v", i, changed, err, s.wantChanged)
		}
	}
	got, err := payments.Get(ctx, pool, "mer_one", "pay_x")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v2, got); diff != "" {
		t.Errorf("stored payment (-want +got):\n%s", diff)
	}
	byKey, err := payments.GetByIdempotencyKey(ctx, pool, "mer_one", "k1")
	if err != nil || byKey.ID != "pay_x" {
		t.Errorf("by idempotency key: %v %v", byKey.ID, err)
	}
	if _, err := payments.Get(ctx, pool, "mer_two", "pay_x"); !errors.Is(err, pg.ErrNotFound) {
		t.Errorf("another merchant's payment: err = %v, want ErrNotFound", err)
	}
}
