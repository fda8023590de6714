package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/domain/refunds"
	"github.com/durapay/durapay/schemas"
)

// authorized records a manual-capture payment of the fixture's merchant in the read model.
func (f *fixture) authorized(t *testing.T, key string) schemas.Payment {
	t.Helper()
	id := schemas.PaymentID(f.merchant, key)
	p := schemas.Payment{ID: id, Object: "payment", Merchant: f.merchant, Amount: 2000, Currency: "usd",
		Status: schemas.PaymentRequiresCapture, CaptureMethod: schemas.CaptureManual, PaymentMethod: "pm_card_visa",
		Metadata: map[string]string{}, AmountCapturable: 2000, StripePaymentIntentID: "pi_1", Created: 1_700_000_000}
	if _, err := payments.Save(context.Background(), f.srv.pool, payments.Record{Payment: p, IdempotencyKey: key, RequestHash: "h",
		WorkflowID: schemas.PaymentWorkflowID(f.merchant, id), Version: 1, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCaptureAnswers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.authorized(t, "cap")
	captures := 0
	f.workflows.update = func(_, _, name string, arg any) (schemas.Payment, error) {
		req := arg.(schemas.CaptureRequest)
		switch {
		case req.AmountToCapture > 2000:
			return schemas.Payment{}, temporal.NewNonRetryableApplicationError("too much", schemas.ErrTypeCaptureAmountInvalid, nil)
		case captures > 0:
			return schemas.Payment{}, temporal.NewNonRetryableApplicationError("already captured", schemas.ErrTypePaymentUnexpectedState, nil)
		}
		captures++
		done := p
		done.Status, done.AmountCaptured, done.AmountCapturable = schemas.PaymentSucceeded, req.AmountToCapture, 0
		return done, nil
	}
	path := "/v1/payments/" + p.ID + "/capture"
	steps := []struct {
		name, key, body string
		wantStatus      int
		wantCode        string
		wantReplayed    bool
	}{
		{"not a positive amount", "", `{"amount_to_capture":0}`, 400, codeAmountInvalid, false},
		{"unknown field", "", `{"amount":5}`, 400, codeParameterUnknown, false},
		{"more than authorized", "", `{"amount_to_capture":2001}`, 400, codeAmountTooLarge, false},
		{"capture", "k1", `{"amount_to_capture":1500}`, 200, "", false},
		{"the same capture again", "k1", `{"amount_to_capture":1500}`, 200, "", true},
		{"the same key, another amount", "k1", `{"amount_to_capture":1000}`, 422, codeIdempotencyKeyReused, false},
		{"another capture", "k2", `{"amount_to_capture":500}`, 409, codePaymentUnexpectedState, false},
		{"that refusal, replayed", "k2", `{"amount_to_capture":500}`, 409, codePaymentUnexpectedState, true},
	}
	for _, s := range steps {
		r := f.do(t, "POST", path, f.key, s.key, s.body)
		if r.status != s.wantStatus || r.errorCode() != s.wantCode || (r.header.Get("Idempotent-Replayed") == "true") != s.wantReplayed {
			t.Fatalf("%s: %d %q replayed=%q\n%s", s.name, r.status, r.errorCode(), r.header.Get("Idempotent-Replayed"), r.raw)
		}
	}
	if captures != 1 {
		t.Fatalf("%d captures reached the workflow, want 1", captures)
	}
	other := merchants.NewID()
	_ = merchants.Create(context.Background(), f.srv.pool, merchants.Merchant{ID: other, Name: "Other"})
	otherKey, _, _ := merchants.IssueSecretKey(context.Background(), f.srv.pool, other, merchants.ModeTest)
	if r := f.do(t, "POST", path, otherKey, "", ""); r.status != 404 || r.errorCode() != codeResourceMissing {
		t.Fatalf("another merchant's capture: %d %s", r.status, r.raw)
	}
}

func TestCancelAnswers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.authorized(t, "cancel")
	path := "/v1/payments/" + p.ID + "/cancel"
	if r := f.do(t, "POST", path, f.key, "", `{"cancellation_reason":"bored"}`); r.status != 400 || r.errorField("param") != "cancellation_reason" {
		t.Fatalf("unknown reason: %d %s", r.status, r.raw)
	}
	// The workflow has ended: the payment is final, as the read model says.
	if r := f.do(t, "POST", path, f.key, "", ""); r.status != 409 || r.errorCode() != codePaymentUnexpectedState {
		t.Fatalf("cancel of a finished payment: %d %s", r.status, r.raw)
	}
	f.workflows.update = func(_, _, _ string, _ any) (schemas.Payment, error) {
		return schemas.Payment{}, context.DeadlineExceeded
	}
	// Temporal unreachable: 503, and the key is released so that the retry runs again.
	for i := 0; i < 2; i++ {
		if r := f.do(t, "POST", path, f.key, "c-503", ""); r.status != 503 || r.header.Get("Retry-After") == "" {
			t.Fatalf("attempt %d: %d %s", i, r.status, r.raw)
		}
	}
}

func TestNewPaymentsWaitWhileTheBreakerIsOpen(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.srv.redis.Set(context.Background(), "durapay:breaker:"+f.srv.stripeBreaker, "open", 20*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	r := f.do(t, "POST", "/v1/payments", f.key, "breaker", visa)
	retryAfter, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if r.status != 503 || r.errorCode() != codeProviderUnavailable || retryAfter < 19 || retryAfter > 20 {
		t.Fatalf("%d %s Retry-After %q", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if f.workflows.calls() != 0 {
		t.Fatal("a payment started while the breaker was open")
	}
}

func TestStripeWebhook(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := `{"id":"evt_w1","object":"event","type":"payment_intent.succeeded","created":1,"api_version":"2020-08-27",` +
		`"data":{"object":{"id":"pi_1","object":"payment_intent","metadata":{"durapay_workflow_id":"payment/mer_x/pay_1"}}}}`
	post := func(header string) reply {
		return f.do(t, "POST", "/v1/webhooks/stripe", "", "", body, "Stripe-Signature", header)
	}
	if r := post(stripesandbox.SignPayload([]byte(body), time.Now(), "whsec_wrong")); r.status != 400 || r.errorCode() != codeWebhookSignatureInvalid {
		t.Fatalf("forged: %d %s", r.status, r.raw)
	}
	if r := post(stripesandbox.SignPayload([]byte(body), time.Now().Add(-time.Hour), testWebhookSecret)); r.status != 400 {
		t.Fatalf("stale: %d %s", r.status, r.raw)
	}
	for i, want := range []string{"delivered", "duplicate", "duplicate"} {
		r := post(stripesandbox.SignPayload([]byte(body), time.Now(), testWebhookSecret))
		if r.status != 200 || r.body["outcome"] != want {
			t.Fatalf("delivery %d: %d %s, want %s", i+1, r.status, r.raw, want)
		}
	}
	if len(f.workflows.signals) != 1 || f.workflows.signals[0] != schemas.SignalStripeEvent+" payment/mer_x/pay_1" {
		t.Fatalf("signals %v, want one StripeEvent to the payment's workflow", f.workflows.signals)
	}
	notJSON := "not an event"
	if r := f.do(t, "POST", "/v1/webhooks/stripe", "", "", notJSON, "Stripe-Signature",
		stripesandbox.SignPayload([]byte(notJSON), time.Now(), testWebhookSecret)); r.status != 400 || !strings.Contains(r.raw, codeInvalidJSON) {
		t.Fatalf("a signed body that is no event: %d %s", r.status, r.raw)
	}
}

func TestOperatorDecisions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.authorized(t, "parked")
	staffKey, _, err := merchants.IssueStaffKey(context.Background(), f.srv.pool, "alice", time.Hour, merchants.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	financeKey, _, _ := merchants.IssueStaffKey(context.Background(), f.srv.pool, "bob", time.Hour, merchants.RoleFinance)
	var got schemas.OperatorDecision
	f.workflows.update = func(merchantID, paymentID, name string, arg any) (schemas.Payment, error) {
		if name != schemas.UpdateOperatorDecision || merchantID != f.merchant || paymentID != p.ID {
			t.Errorf("update %s to %s/%s", name, merchantID, paymentID)
		}
		got = arg.(schemas.OperatorDecision)
		return p, nil
	}
	if r := f.do(t, "POST", "/v1/admin/payments/"+p.ID+"/retry", financeKey, "", ""); r.status != 403 {
		t.Fatalf("finance role: %d", r.status)
	}
	r := f.do(t, "POST", "/v1/admin/payments/"+p.ID+"/cancel", staffKey, "", `{"reason":"fraud suspected"}`)
	if r.status != 200 || r.body["workflow_id"] != schemas.PaymentWorkflowID(f.merchant, p.ID) {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if got.Action != schemas.DecisionCancel || got.Reason != "fraud suspected" || !strings.HasPrefix(got.Operator, "staff:key_") || !strings.HasSuffix(got.Operator, "(alice)") {
		t.Fatalf("decision %+v", got)
	}
	if r := f.do(t, "GET", "/v1/admin/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaa", staffKey, "", ""); r.status != 404 {
		t.Fatalf("missing payment: %d", r.status)
	}
}

// A refund request retried after its workflow has ended and its saved answer was pruned
// gets the refund from Postgres, never a second one; the same key with another body is
// refused, and a key whose refund was never recorded says to use a new one.
func TestRefundRetriedAfterItsRecordWasPruned(t *testing.T) {
	t.Parallel()
	f := newFixture(t) // its workflows answer every refund create with errWorkflowClosed
	ctx := context.Background()
	id := f.capturedPayment(t, "pruned", 2000)
	refundID := schemas.RefundID(f.merchant, "refund-once")
	if _, err := refunds.Reserve(ctx, f.srv.pool, refunds.Record{
		Refund:         schemas.Refund{ID: refundID, Merchant: f.merchant, Payment: id, Amount: 500, Currency: "usd", Metadata: map[string]string{}, Created: 1_700_000_100},
		IdempotencyKey: "refund-once", RequestHash: fingerprint("refund", id, int64(500), "", map[string]string(nil)),
		WorkflowID: schemas.RefundWorkflowID(f.merchant, refundID)}); err != nil {
		t.Fatal(err)
	}
	body := `{"payment":"` + id + `","amount":500}`
	if r := f.do(t, http.MethodPost, "/v1/refunds", f.key, "refund-once", body); r.status != http.StatusCreated || r.body["id"] != refundID {
		t.Fatalf("retry after pruning: %d %s; want the refund", r.status, r.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/refunds", f.key, "refund-once", `{"payment":"`+id+`","amount":700}`); r.errorCode() != codeIdempotencyKeyReused {
		t.Errorf("same key, other amount: %d %s", r.status, r.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/refunds", f.key, "never-recorded", body); r.errorCode() != codeIdempotencyKeyUnavailable {
		t.Errorf("a key without a refund: %d %s", r.status, r.raw)
	}
}
