package activities_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/internal/platform/breaker"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
)

func (f *stripeFixture) run(t *testing.T, name string, req any) (schemas.PaymentIntent, error) {
	t.Helper()
	v, err := f.env.ExecuteActivity(name, req)
	if err != nil {
		return schemas.PaymentIntent{}, err
	}
	var pi schemas.PaymentIntent
	return pi, v.Get(&pi)
}

func TestManualCaptureOfPart(t *testing.T) {
	t.Parallel()
	f := newStripeFixture(t)
	req := createRequest("pay_manual", "pm_card_visa")
	req.CaptureMethod = "manual"
	pi, err := f.create(req)
	if err != nil || pi.Status != "requires_capture" || pi.AmountCapturable != 2000 {
		t.Fatalf("create: %+v %v", pi, err)
	}
	capture := schemas.CapturePaymentIntentRequest{IdempotencyKey: "payment/mer_a/pay_manual/capture_payment_intent", ID: pi.ID, AmountToCapture: 1500}
	for i := 0; i < 2; i++ { // a retried capture replays, it does not capture twice
		got, err := f.run(t, schemas.CapturePaymentIntentName, capture)
		if err != nil || got.Status != "succeeded" || got.AmountReceived != 1500 || got.AmountCapturable != 0 {
			t.Fatalf("capture %d: %+v %v", i+1, got, err)
		}
	}
	again := capture
	again.IdempotencyKey = "another-key"
	_, err = f.run(t, schemas.CapturePaymentIntentName, again)
	if _, refused := refusalType(err); refused != schemas.ErrTypeStripeInvalidRequest {
		t.Fatalf("second capture under another key: %v, want a refusal", err)
	}
	found, err := f.run(t, schemas.FindPaymentIntentName, schemas.FindPaymentIntentRequest{PaymentID: "pay_manual"})
	if err != nil || found.ID != pi.ID || found.Status != "succeeded" {
		t.Fatalf("find: %+v %v", found, err)
	}
	none, err := f.run(t, schemas.FindPaymentIntentName, schemas.FindPaymentIntentRequest{PaymentID: "pay_none"})
	if err != nil || none.ID != "" {
		t.Fatalf("find without a schemas.PaymentIntent: %+v %v", none, err)
	}
}

func TestCancelAndAuthenticationOutcomes(t *testing.T) {
	t.Parallel()
	f := newStripeFixture(t)
	pi, err := f.create(createRequest("pay_3ds_fail", "pm_card_authenticationRequired"))
	if err != nil || pi.Status != "requires_action" {
		t.Fatalf("create: %+v %v", pi, err)
	}
	if err := f.sandbox.Authenticate(pi.ID, false); err != nil {
		t.Fatal(err)
	}
	got, err := f.run(t, schemas.RetrievePaymentIntentName, schemas.RetrievePaymentIntentRequest{ID: pi.ID})
	if err != nil || got.Status != "requires_payment_method" || got.LastPaymentError == nil ||
		got.LastPaymentError.Code != "payment_intent_authentication_failure" {
		t.Fatalf("after failed authentication: %+v %v", got, err)
	}
	canceled, err := f.run(t, schemas.CancelPaymentIntentName, schemas.CancelPaymentIntentRequest{IdempotencyKey: "c1", ID: pi.ID, Reason: "abandoned"})
	if err != nil || canceled.Status != "canceled" || canceled.CancellationReason != "abandoned" {
		t.Fatalf("cancel: %+v %v", canceled, err)
	}

	succeeded, err := f.create(createRequest("pay_done", "pm_card_visa"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.run(t, schemas.CancelPaymentIntentName, schemas.CancelPaymentIntentRequest{IdempotencyKey: "c2", ID: succeeded.ID})
	if failure, refused := refusalType(err); refused != schemas.ErrTypeStripeInvalidRequest || failure.Code != "payment_intent_unexpected_state" {
		t.Fatalf("canceling a succeeded schemas.PaymentIntent: %v, want payment_intent_unexpected_state", err)
	}
}

func refusalType(err error) (schemas.StripeFailure, string) {
	f, typ, _ := activities.StripeFailureOf(err)
	return f, typ
}

// Stripe answering 500s opens the breaker: further calls are not sent, and come back as
// retryable errors that wait until the breaker may close; then a trial call closes it.
func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	sb, cfg := newSandbox(t)
	cfg.Breaker = newBreaker(breaker.Settings{Name: "stripe-test", FailureRatio: 0.5, MinRequests: 4, OpenTimeout: 300 * time.Millisecond, Interval: time.Minute})
	env := newActivityEnv()
	registerStripe(env, activities.NewStripe(stripeclient.New(cfg)))
	retrieve := func() error {
		_, err := env.ExecuteActivity(schemas.RetrievePaymentIntentName, schemas.RetrievePaymentIntentRequest{ID: "pi_missing"})
		return err
	}
	// Declines and missing objects are answers, not outages: they never open the breaker.
	for i := 0; i < 6; i++ {
		if err := retrieve(); !isType(err, schemas.ErrTypeStripeInvalidRequest) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// 6 answers then 6 outages: the breaker opens when outages reach half of the calls
	// (4 of 10 leaves it closed).
	if err := sb.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/", Mode: stripesandbox.FaultServerError, Times: 6}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if err := retrieve(); !isType(err, schemas.ErrTypeStripeUnavailable) {
			t.Fatalf("failing call %d: %v", i, err)
		}
	}
	sent := len(sb.Requests())
	err := retrieve()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != schemas.ErrTypeStripeCircuitOpen || appErr.NonRetryable() ||
		appErr.NextRetryDelay() <= 0 || appErr.NextRetryDelay() > 300*time.Millisecond {
		t.Fatalf("with the breaker open: %v, want a retryable %s with a delay until it may close", err, schemas.ErrTypeStripeCircuitOpen)
	}
	if len(sb.Requests()) != sent {
		t.Fatal("a call reached Stripe while the breaker was open")
	}
	time.Sleep(350 * time.Millisecond)
	if err := retrieve(); !isType(err, schemas.ErrTypeStripeInvalidRequest) {
		t.Fatalf("trial call after the open period: %v", err)
	}
	if err := retrieve(); !isType(err, schemas.ErrTypeStripeInvalidRequest) {
		t.Fatalf("after the breaker closed: %v", err)
	}
}

func isType(err error, typ string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == typ
}

// signalRecorder records the Stripe events delivered to workflows.
type signalRecorder struct {
	mu   sync.Mutex
	sent map[string][]string // workflow ID -> event types
}

func (r *signalRecorder) SignalWorkflow(_ context.Context, workflowID, _, _ string, arg any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[workflowID] = append(r.sent[workflowID], arg.(schemas.StripeEventSignal).Type)
	return nil
}

// The backfill delivers the events of Durapay's PaymentIntents that no webhook brought, each
// once, however often it runs.
func TestBackfillDeliversMissedEventsOnce(t *testing.T) {
	t.Parallel()
	f := newStripeFixture(t)
	pool := pgtest.NewPool(t)
	rec := &signalRecorder{sent: map[string][]string{}}
	router := stripeevents.NewRouter(pool, rec)
	b := activities.NewStripeEvents(stripeclient.New(*f.client), router, pool)
	f.env.RegisterActivityWithOptions(b.BackfillStripeEvents, activity.RegisterOptions{Name: schemas.BackfillStripeEventsName})

	pi, err := f.create(createRequest("pay_missed", "pm_card_threeDSecure2Required"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sandbox.Authenticate(pi.ID, true); err != nil {
		t.Fatal(err)
	}
	// One event came by webhook already.
	first, err := stripeevents.Parse(f.sandbox.Events("payment_intent.created")[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := router.Deliver(context.Background(), first, stripeevents.SourceWebhook); err != nil {
		t.Fatal(err)
	}
	var results []schemas.StripeEventsBackfillResult
	for i := 0; i < 2; i++ {
		v, err := f.env.ExecuteActivity(schemas.BackfillStripeEventsName, schemas.StripeEventsBackfillInput{Lookback: time.Hour, Overlap: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		var res schemas.StripeEventsBackfillResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	got := rec.sent["payment/mer_a/pay_missed"]
	want := []string{"payment_intent.created", "payment_intent.requires_action", "payment_intent.succeeded"}
	if len(got) != len(want) || !sameSet(got, want) {
		t.Errorf("signals %v, want each of %v once (charge events are no workflow's)", got, want)
	}
	if results[0].Delivered == 0 || results[1].Delivered != 0 || results[1].Listed == 0 {
		t.Errorf("runs %+v: the second run must find everything delivered", results)
	}
}

func sameSet(a, b []string) bool {
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestRefundAtStripe(t *testing.T) {
	t.Parallel()
	f := newStripeFixture(t)
	pi, err := f.create(createRequest("pay_refund", "pm_card_refundFail"))
	if err != nil {
		t.Fatal(err)
	}
	req := schemas.CreateStripeRefundRequest{IdempotencyKey: "refund/mer_a/rfd_1/create_refund", PaymentIntentID: pi.ID, Amount: 800,
		Reason: "requested_by_customer", RefundID: "rfd_1", WorkflowID: "refund/mer_a/rfd_1"}
	var first schemas.StripeRefund
	for i := 0; i < 2; i++ { // a retried create is one refund
		v, err := f.env.ExecuteActivity(schemas.CreateRefundName, req)
		if err != nil {
			t.Fatal(err)
		}
		var re schemas.StripeRefund
		if err := v.Get(&re); err != nil || re.Status != "succeeded" || re.Amount != 800 || (i == 1 && re.ID != first.ID) {
			t.Fatalf("create %d: %+v %v", i+1, re, err)
		}
		first = re
	}
	v, err := f.env.ExecuteActivity(schemas.FindRefundName, schemas.FindRefundRequest{PaymentIntentID: pi.ID, RefundID: "rfd_1"})
	var found schemas.StripeRefund
	if err != nil || v.Get(&found) != nil || found.ID != first.ID {
		t.Fatalf("find: %+v %v", found, err)
	}
	// pm_card_refundFail: the refund fails a moment later, as Stripe's test card does.
	eventually := time.Now().Add(10 * time.Second)
	for {
		v, err := f.env.ExecuteActivity(schemas.RetrieveRefundName, schemas.RetrieveRefundRequest{ID: first.ID})
		var re schemas.StripeRefund
		if err != nil || v.Get(&re) != nil {
			t.Fatal(err)
		}
		if re.Status == "failed" && re.FailureReason != "" {
			break
		}
		if time.Now().After(eventually) {
			t.Fatalf("refund still %s", re.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	too := req
	too.IdempotencyKey, too.Amount = "other", 5000
	_, err = f.env.ExecuteActivity(schemas.CreateRefundName, too)
	if _, typ := refusalType(err); typ != schemas.ErrTypeStripeInvalidRequest {
		t.Fatalf("refund above the charge: %v", err)
	}
}

// Stripe's search index lags: before an operator's retry takes a new idempotency key, the
// check for a PaymentIntent an earlier attempt made must see one created a moment ago.
func TestFindPaymentIntentSeesWhatSearchDoesNotYet(t *testing.T) {
	t.Parallel()
	f := newStripeFixture(t)
	f.sandbox.SetSearchLag(time.Minute)
	startedAt := time.Now().Add(-time.Second)
	pi, err := f.create(createRequest("pay_fresh", "pm_card_visa"))
	if err != nil {
		t.Fatal(err)
	}
	found, err := f.run(t, schemas.FindPaymentIntentName, schemas.FindPaymentIntentRequest{PaymentID: "pay_fresh", CreatedSince: startedAt})
	if err != nil || found.ID != pi.ID {
		t.Fatalf("find right after the create: %+v %v; want %s", found, err, pi.ID)
	}
}
