package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/schemas"
)

// A create the workflow refused records no resource, and its workflow, closed, cannot be
// started again: the retry of the same request gets the same refusal, saved; another request
// under the key is refused as a reuse.
func TestCreateRefusedByItsWorkflowIsReplayed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.capturedPayment(t, "refused-refund", 2000)
	calls := 0
	f.workflows.createRefund = func(schemas.RefundInput) (schemas.CreateRefundResult, error) {
		calls++
		if calls > 1 {
			return schemas.CreateRefundResult{}, errWorkflowClosed
		}
		return schemas.CreateRefundResult{}, temporal.NewNonRetryableApplicationError(
			"the refund exceeds what remains of the payment", schemas.ErrTypeRefundExceedsRemaining, nil)
	}
	body := `{"payment":"` + id + `","amount":1500}`
	first := f.do(t, http.MethodPost, "/v1/refunds", f.key, "too-much", body)
	if first.status != http.StatusBadRequest || first.errorCode() != codeAmountTooLarge {
		t.Fatalf("first: %d %s; want 400 amount_too_large from the workflow-error table", first.status, first.raw)
	}
	retry := f.do(t, http.MethodPost, "/v1/refunds", f.key, "too-much", body)
	if retry.status != first.status || retry.errorCode() != codeAmountTooLarge || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s; want the first refusal replayed", retry.status, retry.raw)
	}
	if calls != 1 {
		t.Errorf("the workflow was reached %d times; the retry must be answered from the saved refusal", calls)
	}
	if r := f.do(t, http.MethodPost, "/v1/refunds", f.key, "too-much", `{"payment":"`+id+`","amount":100}`); r.errorCode() != codeIdempotencyKeyReused {
		t.Errorf("same key, other amount: %d %s", r.status, r.raw)
	}
}

// Every error type a workflow answers API callers with maps to an API code with a status:
// a type added to schemas without a row here would reach clients as a 503.
func TestEveryWorkflowErrorTypeHasAnAnswer(t *testing.T) {
	for _, typ := range []string{
		schemas.ErrTypeIdempotencyKeyReused, schemas.ErrTypePaymentUnexpectedState, schemas.ErrTypeCaptureAmountInvalid,
		schemas.ErrTypeInvalidDecision, schemas.ErrTypePaymentNotCaptured, schemas.ErrTypeRefundExceedsRemaining,
		schemas.ErrTypeRefundUnexpectedState, schemas.ErrTypeMerchantNotReviewable,
	} {
		ae := workflowRefusal(temporal.NewNonRetryableApplicationError("refused", typ, nil))
		if ae == nil {
			t.Errorf("%s: no row in workflowErrors", typ)
			continue
		}
		if class, ok := errorTable[ae.code]; !ok || class.status < 400 || class.status >= 500 {
			t.Errorf("%s: code %s has no 4xx class", typ, ae.code)
		}
	}
	if workflowRefusal(temporal.NewApplicationError("down", schemas.ErrTypeStripeUnavailable)) != nil {
		t.Error("an internal error type must not reach clients as a refusal")
	}
}

// capturedPayment records a succeeded payment of amount USD minor units under key, as its
// workflow would have, and returns its ID.
func (f *fixture) capturedPayment(t *testing.T, key string, amount int64) string {
	t.Helper()
	id := schemas.PaymentID(f.merchant, key)
	p := schemas.Payment{ID: id, Object: "payment", Merchant: f.merchant, Amount: amount, Currency: "usd",
		Status: schemas.PaymentSucceeded, CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_visa",
		Metadata: map[string]string{}, AmountCaptured: amount, StripePaymentIntentID: "pi_1", Created: 1_700_000_000}
	if _, err := payments.Save(context.Background(), f.srv.pool, payments.Record{Payment: p, IdempotencyKey: key, RequestHash: "h",
		WorkflowID: schemas.PaymentWorkflowID(f.merchant, id), Version: 1, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return id
}
