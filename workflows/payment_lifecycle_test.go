package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/mock"
	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/workflows"
)

// fakeStripe is the PaymentIntent as Stripe holds it, behind the harness's Stripe
// activities: tests move it (a customer authenticating) and the activities read and change it.
type fakeStripe struct {
	pi schemas.PaymentIntent
	// createErrs are returned by the first creates, in order.
	createErrs []error
	// cancelRefused makes cancel answer payment_intent_unexpected_state (it succeeded meanwhile).
	cancelRefused bool
	// existing is what a search by metadata finds.
	existing schemas.PaymentIntent

	creates   []schemas.CreatePaymentIntentRequest
	captures  []schemas.CapturePaymentIntentRequest
	cancels   []schemas.CancelPaymentIntentRequest
	retrieves int
	finds     int
}

// withStripe backs the Stripe activities with f.
func (h *harness) withStripe(f *fakeStripe) *fakeStripe {
	h.OnActivity(schemas.CreatePaymentIntentName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.CreatePaymentIntentRequest) (schemas.PaymentIntent, error) {
			f.creates = append(f.creates, req)
			if len(f.createErrs) > 0 {
				err := f.createErrs[0]
				f.createErrs = f.createErrs[1:]
				return schemas.PaymentIntent{}, err
			}
			return f.pi, nil
		}).Maybe()
	h.OnActivity(schemas.RetrievePaymentIntentName, mock.Anything, mock.Anything).Return(
		func(context.Context, schemas.RetrievePaymentIntentRequest) (schemas.PaymentIntent, error) {
			f.retrieves++
			return f.pi, nil
		}).Maybe()
	h.OnActivity(schemas.FindPaymentIntentName, mock.Anything, mock.Anything).Return(
		func(context.Context, schemas.FindPaymentIntentRequest) (schemas.PaymentIntent, error) {
			f.finds++
			return f.existing, nil
		}).Maybe()
	h.OnActivity(schemas.CapturePaymentIntentName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.CapturePaymentIntentRequest) (schemas.PaymentIntent, error) {
			f.captures = append(f.captures, req)
			amount := req.AmountToCapture
			if amount == 0 {
				amount = f.pi.AmountCapturable
			}
			f.pi.Status, f.pi.AmountReceived, f.pi.AmountCapturable = "succeeded", amount, 0
			return f.pi, nil
		}).Maybe()
	h.OnActivity(schemas.CancelPaymentIntentName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.CancelPaymentIntentRequest) (schemas.PaymentIntent, error) {
			f.cancels = append(f.cancels, req)
			if f.cancelRefused {
				return schemas.PaymentIntent{}, activities.ClassifyStripeError(&stripe.Error{HTTPStatusCode: 400,
					Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodePaymentIntentUnexpectedState, Msg: "already succeeded"})
			}
			f.pi.Status, f.pi.CancellationReason, f.pi.AmountCapturable, f.pi.NextAction = "canceled", req.Reason, 0, nil
			return f.pi, nil
		}).Maybe()
	return f
}

func manualInput() schemas.PaymentInput {
	in := input()
	in.CaptureMethod = schemas.CaptureManual
	return in
}

func (h *harness) publishedTypes() []string {
	var types []string
	for _, p := range h.published {
		types = append(types, p.Event.Type)
		raw, _ := json.Marshal(p.Event)
		if err := schemas.ValidateEvent(raw); err != nil {
			panic(err) // every event published in these tests must match its schema
		}
	}
	return types
}

// sendUpdate delivers any update at the given workflow time.
func (h *harness) sendUpdate(at time.Duration, name, id string, arg any) *paymentAnswer {
	out := &paymentAnswer{}
	h.RegisterDelayedCallback(func() {
		h.UpdateWorkflow(name, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.err, out.done = err, true },
			OnComplete: func(v any, err error) {
				out.done, out.err = true, err
				if err == nil {
					out.payment = v.(schemas.Payment)
				}
			},
		}, arg)
	}, at)
	return out
}

type paymentAnswer struct {
	payment schemas.Payment
	err     error
	done    bool
}

func (a *paymentAnswer) errType() string {
	var appErr *temporal.ApplicationError
	if errors.As(a.err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func (h *harness) signalAt(at time.Duration, name string, arg any) {
	h.RegisterDelayedCallback(func() { h.SignalWorkflow(name, arg) }, at)
}

func TestManualCaptureOfPart(t *testing.T) {
	h := newHarness(t, 0)
	f := h.withStripe(&fakeStripe{pi: schemas.PaymentIntent{ID: "pi_1", Status: "requires_capture", AmountCapturable: 2000}})
	created := h.sendCreate(0, "req-1", "hash-1")
	tooMuch := h.sendUpdate(time.Hour, schemas.UpdateCapturePayment, "cap-0", schemas.CaptureRequest{AmountToCapture: 2001})
	captured := h.sendUpdate(2*time.Hour, schemas.UpdateCapturePayment, "cap-1", schemas.CaptureRequest{AmountToCapture: 1500})
	h.ExecuteWorkflow(workflows.PaymentWorkflow, manualInput())
	final := h.result(t)

	if created.result.Payment.Status != schemas.PaymentRequiresCapture || created.result.Payment.AmountCapturable != 2000 {
		t.Fatalf("create answered %+v", created.result.Payment)
	}
	if tooMuch.errType() != schemas.ErrTypeCaptureAmountInvalid {
		t.Errorf("capturing more than authorized: %v", tooMuch.err)
	}
	if captured.err != nil || captured.payment.Status != schemas.PaymentSucceeded || captured.payment.AmountCaptured != 1500 {
		t.Fatalf("capture answered %+v %v", captured.payment, captured.err)
	}
	if final.Status != schemas.PaymentSucceeded || final.AmountCaptured != 1500 || final.AmountCapturable != 0 {
		t.Errorf("final %+v", final)
	}
	if len(f.captures) != 1 || f.captures[0].IdempotencyKey != workflowID+"/capture_payment_intent" || f.captures[0].AmountToCapture != 1500 {
		t.Errorf("captures %+v", f.captures)
	}
	want := []string{schemas.EventPaymentAuthorized, schemas.EventPaymentCaptured, schemas.EventPaymentSucceeded}
	if diff := cmp.Diff(want, h.publishedTypes()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestMerchantCancelsAnAuthorization(t *testing.T) {
	h := newHarness(t, 0)
	f := h.withStripe(&fakeStripe{pi: schemas.PaymentIntent{ID: "pi_1", Status: "requires_capture", AmountCapturable: 2000}})
	h.sendCreate(0, "req-1", "hash-1")
	canceled := h.sendUpdate(time.Minute, schemas.UpdateCancelPayment, "cancel-1", schemas.CancelRequest{})
	h.ExecuteWorkflow(workflows.PaymentWorkflow, manualInput())
	final := h.result(t)
	if canceled.err != nil || final.Status != schemas.PaymentCanceled || final.CancellationReason != "requested_by_customer" {
		t.Fatalf("final %s %q, answer %v", final.Status, final.CancellationReason, canceled.err)
	}
	if len(f.cancels) != 1 || f.cancels[0].Reason != "requested_by_customer" {
		t.Errorf("cancels %+v", f.cancels)
	}
	if diff := cmp.Diff([]string{schemas.EventPaymentAuthorized, schemas.EventPaymentCanceled}, h.publishedTypes()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// An authorization nobody captures is released when its window closes, before the card
// network's.
func TestAuthorizationExpires(t *testing.T) {
	h := newHarness(t, 0)
	f := h.withStripe(&fakeStripe{pi: schemas.PaymentIntent{ID: "pi_1", Status: "requires_capture", AmountCapturable: 2000}})
	h.sendCreate(0, "req-1", "hash-1")
	start := h.Now()
	h.ExecuteWorkflow(workflows.PaymentWorkflow, manualInput())
	final := h.result(t)
	if final.Status != schemas.PaymentCanceled || final.CancellationReason != schemas.CancelAuthorizationExpired {
		t.Fatalf("final %s %q", final.Status, final.CancellationReason)
	}
	if len(f.cancels) != 1 || f.cancels[0].Reason != "abandoned" {
		t.Fatalf("cancels %+v", f.cancels)
	}
	last := h.recorded[len(h.recorded)-1]
	if elapsed := last.At.Sub(start); elapsed < schemas.DefaultAuthorizationWindow || elapsed > schemas.DefaultAuthorizationWindow+time.Minute {
		t.Errorf("released after %s, want the default window %s", elapsed, schemas.DefaultAuthorizationWindow)
	}
	if diff := cmp.Diff([]string{schemas.EventPaymentAuthorized, schemas.EventPaymentCanceled}, h.publishedTypes()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// 3-D Secure with a manual capture: the webhook's event arrives three times and an older
// event after it; the payment moves once, to the right state.
func TestStripeEventsDuplicatedAndReordered(t *testing.T) {
	h := newHarness(t, 0)
	f := h.withStripe(&fakeStripe{pi: schemas.PaymentIntent{ID: "pi_1", Status: "requires_action", NextAction: json.RawMessage(`{"type":"use_stripe_sdk"}`)}})
	created := h.sendCreate(0, "req-1", "hash-1")
	h.RegisterDelayedCallback(func() {
		f.pi = schemas.PaymentIntent{ID: "pi_1", Status: "requires_capture", AmountCapturable: 2000}
	}, 30*time.Second)
	authorized := schemas.StripeEventSignal{EventID: "evt_2", Type: "payment_intent.amount_capturable_updated", ObjectID: "pi_1"}
	older := schemas.StripeEventSignal{EventID: "evt_1", Type: "payment_intent.requires_action", ObjectID: "pi_1"}
	for i := 0; i < 3; i++ {
		h.signalAt(time.Minute+time.Duration(i)*time.Second, schemas.SignalStripeEvent, authorized)
	}
	h.signalAt(2*time.Minute, schemas.SignalStripeEvent, older)
	h.signalAt(2*time.Minute, schemas.SignalStripeEvent, schemas.StripeEventSignal{EventID: "evt_x", ObjectID: "pi_other"})
	captured := h.sendUpdate(3*time.Minute, schemas.UpdateCapturePayment, "cap-1", schemas.CaptureRequest{})
	h.ExecuteWorkflow(workflows.PaymentWorkflow, manualInput())
	final := h.result(t)

	if created.result.Payment.Status != schemas.PaymentRequiresAction || string(created.result.Payment.NextAction) != `{"type":"use_stripe_sdk"}` {
		t.Fatalf("create answered %s %s", created.result.Payment.Status, created.result.Payment.NextAction)
	}
	if captured.err != nil || final.Status != schemas.PaymentSucceeded || final.AmountCaptured != 2000 {
		t.Fatalf("final %+v, capture %v", final, captured.err)
	}
	if f.retrieves != 2 {
		t.Errorf("%d retrieves, want 2: one per distinct event about the payment", f.retrieves)
	}
	want := []string{schemas.EventPaymentRequiresAction, schemas.EventPaymentAuthorized, schemas.EventPaymentCaptured, schemas.EventPaymentSucceeded}
	if diff := cmp.Diff(want, h.publishedTypes()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestAuthenticationFails(t *testing.T) {
	h := newHarness(t, 0)
	f := h.withStripe(&fakeStripe{pi: schemas.PaymentIntent{ID: "pi_1", Status: "requires_action"}})
	h.RegisterDelayedCallback(func() {
		f.pi = schemas.PaymentIntent{ID: "pi_1", Status: "requires_payment_method", LastPaymentError: &schemas.StripeFailure{
			Type: "invalid_request_error", Code: "payment_intent_authentication_failure", Message: "failed authentication"}}
	}, 30*time.Second)
	h.sendCreate(0, "req-1", "hash-1")
	h.signalAt(time.Minute, schemas.SignalStripeEvent, schemas.StripeEventSignal{EventID: "evt_f", Type: "payment_intent.payment_failed", ObjectID: "pi_1"})
	h.ExecuteWorkflow(workflows.PaymentWorkflow, input())
	final := h.result(t)
	if final.Status != schemas.PaymentFailed || final.Failure == nil || final.Failure.Code != "payment_intent_authentication_failure" {
		t.Fatalf("final %s %+v", final.Status, final.Failure)
	}
}

// A customer who never authenticates: after the action timeout the PaymentIntent is
// canceled and the payment fails; had it succeeded meanwhile (a late webhook), the
// payment follows Stripe instead.
func TestAuthenticationTimeout(t *testing.T) {
	for _, succeededMeanwhile := range []bool{false, true} {
		h := newHarness(t, 0)
		f := h.withStripe(&fakeStripe{pi: schemas.PaymentIntent{ID: "pi_1", Status: "requires_action"}, cancelRefused: succeededMeanwhile})
		if succeededMeanwhile {
			h.RegisterDelayedCallback(func() { f.pi = schemas.PaymentIntent{ID: "pi_1", Status: "succeeded", AmountReceived: 2000} }, 50*time.Minute)
		}
		h.sendCreate(0, "req-1", "hash-1")
		in := input()
		in.Policy.ActionTimeout = time.Hour
		h.ExecuteWorkflow(workflows.PaymentWorkflow, in)
		final := h.result(t)
		if len(f.cancels) != 1 || f.cancels[0].Reason != "abandoned" {
			t.Fatalf("cancels %+v", f.cancels)
		}
		switch {
		case succeededMeanwhile && final.Status != schemas.PaymentSucceeded:
			t.Errorf("a PaymentIntent that succeeded meanwhile: final %s", final.Status)
		case !succeededMeanwhile && (final.Status != schemas.PaymentFailed || final.Failure.Code != "payment_intent_authentication_timeout"):
			t.Errorf("final %s %+v", final.Status, final.Failure)
		}
	}
}

// Stripe answers idempotency_error: no retry can fix that, so the payment parks in
// needs_attention, the create is answered (processing), and an operator's retry creates
// the PaymentIntent under a new key once a search shows none exists.
func TestIdempotencyErrorParksUntilAnOperatorRetries(t *testing.T) {
	h := newHarness(t, 0)
	idemErr := activities.ClassifyStripeError(&stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeIdempotency, Msg: "Keys for idempotent requests..."})
	f := h.withStripe(&fakeStripe{pi: schemas.PaymentIntent{ID: "pi_1", Status: "succeeded", AmountReceived: 2000}, createErrs: []error{idemErr}})
	created := h.sendCreate(0, "req-1", "hash-1")
	early := h.sendUpdate(time.Minute, schemas.UpdateCapturePayment, "cap", schemas.CaptureRequest{})
	bad := h.sendUpdate(time.Hour, schemas.UpdateOperatorDecision, "d-0", schemas.OperatorDecision{Action: "ignore"})
	retried := h.sendUpdate(2*time.Hour, schemas.UpdateOperatorDecision, "d-1", schemas.OperatorDecision{Action: schemas.DecisionRetry, Operator: "staff:key_1"})
	h.ExecuteWorkflow(workflows.PaymentWorkflow, input())
	final := h.result(t)

	if created.result.Payment.Status != schemas.PaymentProcessing {
		t.Errorf("create answered %s, want processing while parked", created.result.Payment.Status)
	}
	parked := h.recorded[0]
	if parked.Attention == nil || parked.Attention.Step != "create_payment_intent" || parked.Attention.ErrorType != schemas.ErrTypeStripeIdempotency {
		t.Fatalf("first record %+v, want the payment parked with its reason", parked.Attention)
	}
	if early.errType() != schemas.ErrTypePaymentUnexpectedState || bad.errType() != schemas.ErrTypeInvalidDecision {
		t.Errorf("while parked: capture %v, unknown decision %v", early.err, bad.err)
	}
	if retried.err != nil || retried.payment.Status != schemas.PaymentSucceeded {
		t.Fatalf("operator retry answered %+v %v", retried.payment, retried.err)
	}
	if final.Status != schemas.PaymentSucceeded || f.finds != 1 || len(f.creates) != 2 ||
		f.creates[1].IdempotencyKey != workflowID+"/create_payment_intent/retry-1" {
		t.Fatalf("final %s, %d finds, creates %+v", final.Status, f.finds, f.creates)
	}
	if last := h.recorded[len(h.recorded)-1]; last.Attention != nil {
		t.Errorf("still marked for attention after the retry")
	}
}

// Stripe down for longer than the retry budget: the payment parks rather than fails; the
// operator cancels (by signal, as from the Temporal UI), and the PaymentIntent an earlier
// attempt did create after all is canceled, never left behind.
func TestRetryBudgetSpentThenOperatorCancels(t *testing.T) {
	h := newHarness(t, 0)
	down := activities.ClassifyStripeError(&stripe.Error{HTTPStatusCode: 503, Type: stripe.ErrorTypeAPI, Msg: "unavailable"})
	errs := make([]error, 200)
	for i := range errs {
		errs[i] = down
	}
	f := h.withStripe(&fakeStripe{createErrs: errs, existing: schemas.PaymentIntent{ID: "pi_late", Status: "requires_confirmation"},
		pi: schemas.PaymentIntent{ID: "pi_late", Status: "requires_confirmation"}})
	h.sendCreate(0, "req-1", "hash-1")
	h.signalAt(3*time.Hour, schemas.SignalOperatorDecision, schemas.OperatorDecision{Action: schemas.DecisionCancel, Operator: "ui"})
	in := input()
	in.Policy.StripeRetryBudget = time.Hour
	h.ExecuteWorkflow(workflows.PaymentWorkflow, in)
	final := h.result(t)

	if a := h.recorded[0].Attention; a == nil || a.ErrorType != schemas.ErrTypeStripeUnavailable || !strings.HasPrefix(a.Message, "retried for 1h0m0s") {
		t.Fatalf("parked with %+v, want the retry budget spent", h.recorded[0].Attention)
	}
	if final.Status != schemas.PaymentCanceled || final.CancellationReason != schemas.CancelByOperator || final.StripePaymentIntentID != "pi_late" {
		t.Fatalf("final %s %q %s", final.Status, final.CancellationReason, final.StripePaymentIntentID)
	}
	if len(f.cancels) != 1 || f.cancels[0].ID != "pi_late" {
		t.Errorf("cancels %+v, want the late PaymentIntent canceled", f.cancels)
	}
	// The Temporal UI authenticated nobody: the decision is audited as declared.
	if len(h.audited) != 1 || h.audited[0].Actor != "ui" || h.audited[0].Action != "payment.operator_cancel" ||
		h.audited[0].Resource != paymentID || h.audited[0].Details["identity"] != "declared" {
		t.Errorf("audited %+v, want the signalled decision with its declared operator", h.audited)
	}
	for _, c := range f.creates {
		if c.IdempotencyKey != workflowID+"/create_payment_intent" {
			t.Fatalf("create under key %q: retries within the budget keep the step's key", c.IdempotencyKey)
		}
	}
}
