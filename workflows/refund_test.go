package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/mock"
	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/workflows"
)

var refundID = schemas.RefundID("mer_test", "r1")

// refundHarness runs RefundWorkflow with its activities backed by a fake store and Stripe.
type refundHarness struct {
	*testsuite.TestWorkflowEnvironment
	reserveErr error
	stripe     schemas.StripeRefund
	stripeErrs []error
	found      schemas.StripeRefund
	creates    []schemas.CreateStripeRefundRequest
	recorded   []schemas.RecordRefundRequest
	published  []string
	answer     *refundAnswer
	attention  []*schemas.Attention
	audited    []schemas.AuditRecord
}

type refundAnswer struct {
	result schemas.CreateRefundResult
	err    error
	done   bool
}

func newRefundHarness(t *testing.T) *refundHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.RefundWorkflow, workflow.RegisterOptions{Name: schemas.RefundWorkflowName})
	stripe, store, events := &activities.Stripe{}, &activities.Store{}, &activities.Events{}
	for name, fn := range map[string]any{
		schemas.CreateRefundName: stripe.CreateRefund, schemas.RetrieveRefundName: stripe.RetrieveRefund,
		schemas.FindRefundName: stripe.FindRefund, schemas.ReserveRefundName: store.ReserveRefund,
		schemas.RecordRefundName: store.RecordRefund, schemas.PublishEventName: events.PublishEvent,
		schemas.RecordRefundAttentionName: store.RecordRefundAttention, schemas.RecordAuditName: (&activities.Audit{}).RecordAudit,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: schemas.RefundWorkflowID("mer_test", refundID)})
	h := &refundHarness{TestWorkflowEnvironment: env, answer: &refundAnswer{}}
	pending := schemas.Refund{ID: refundID, Object: "refund", Merchant: "mer_test", Payment: paymentID, Amount: 700,
		Currency: "usd", Status: schemas.RefundPending, Metadata: map[string]string{}, Created: 1_700_000_000}
	env.OnActivity(schemas.ReserveRefundName, mock.Anything, mock.Anything).Return(
		func(context.Context, schemas.ReserveRefundRequest) (schemas.ReservedRefund, error) {
			return schemas.ReservedRefund{Refund: pending, PaymentIntentID: "pi_1"}, h.reserveErr
		})
	env.OnActivity(schemas.CreateRefundName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.CreateStripeRefundRequest) (schemas.StripeRefund, error) {
			h.creates = append(h.creates, req)
			if len(h.stripeErrs) > 0 {
				err := h.stripeErrs[0]
				h.stripeErrs = h.stripeErrs[1:]
				return schemas.StripeRefund{}, err
			}
			return h.stripe, nil
		}).Maybe()
	env.OnActivity(schemas.RetrieveRefundName, mock.Anything, mock.Anything).Return(
		func(context.Context, schemas.RetrieveRefundRequest) (schemas.StripeRefund, error) {
			return h.stripe, nil
		}).Maybe()
	env.OnActivity(schemas.FindRefundName, mock.Anything, mock.Anything).Return(
		func(context.Context, schemas.FindRefundRequest) (schemas.StripeRefund, error) {
			return h.found, nil
		}).Maybe()
	env.OnActivity(schemas.RecordRefundName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.RecordRefundRequest) (schemas.Refund, error) {
			h.recorded = append(h.recorded, req)
			r := pending
			r.Status, r.StripeRefundID, r.FailureReason = req.Status, req.StripeRefundID, req.FailureReason
			return r, nil
		}).Maybe()
	env.OnActivity(schemas.RecordRefundAttentionName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.RecordRefundAttentionRequest) error {
			h.attention = append(h.attention, req.Attention)
			return nil
		}).Maybe()
	env.OnActivity(schemas.RecordAuditName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e schemas.AuditRecord) error {
			h.audited = append(h.audited, e)
			return nil
		}).Maybe()
	env.OnActivity(schemas.PublishEventName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.PublishEventRequest) error {
			raw, _ := json.Marshal(req.Event)
			if err := schemas.ValidateEvent(raw); err != nil {
				t.Errorf("event %s does not match its schema: %v", req.Event.Type, err)
			}
			if req.Key != paymentID {
				t.Errorf("refund event keyed %q, want the payment's ID", req.Key)
			}
			h.published = append(h.published, req.Event.Type)
			return nil
		}).Maybe()
	h.RegisterDelayedCallback(func() {
		h.UpdateWorkflow(schemas.UpdateCreateRefund, "create-1", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { h.answer.err, h.answer.done = err, true },
			OnComplete: func(v any, err error) {
				h.answer.done, h.answer.err = true, err
				if err == nil {
					h.answer.result = v.(schemas.CreateRefundResult)
				}
			},
		}, schemas.CreateRefundRequest{RequestHash: "rh"})
	}, 0)
	return h
}

func refundInput() schemas.RefundInput {
	return schemas.RefundInput{RefundID: refundID, MerchantID: "mer_test", PaymentID: paymentID, IdempotencyKey: "r1",
		RequestHash: "rh", Amount: 700, Policy: schemas.RefundPolicy{FailureWindow: 24 * time.Hour}}
}

func TestRefundSucceeds(t *testing.T) {
	h := newRefundHarness(t)
	h.stripe = schemas.StripeRefund{ID: "re_1", Status: "succeeded", Amount: 700}
	h.ExecuteWorkflow(workflows.RefundWorkflow, refundInput())
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if h.answer.err != nil || h.answer.result.Refund.Status != schemas.RefundSucceeded || h.answer.result.Refund.StripeRefundID != "re_1" {
		t.Fatalf("answer %+v %v", h.answer.result, h.answer.err)
	}
	if len(h.creates) != 1 || h.creates[0].IdempotencyKey != schemas.RefundWorkflowID("mer_test", refundID)+"/create_refund" ||
		h.creates[0].PaymentIntentID != "pi_1" || h.creates[0].WorkflowID != schemas.RefundWorkflowID("mer_test", refundID) {
		t.Fatalf("creates %+v", h.creates)
	}
	if diff := cmp.Diff([]string{schemas.EventRefundCreated, schemas.EventRefundSucceeded}, h.published); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// Reservation refuses (more than remains): the create gets the refusal; nothing reaches
// Stripe.
func TestRefundRefused(t *testing.T) {
	h := newRefundHarness(t)
	h.reserveErr = temporal.NewNonRetryableApplicationError("too much", schemas.ErrTypeRefundExceedsRemaining, nil)
	h.ExecuteWorkflow(workflows.RefundWorkflow, refundInput())
	var appErr *temporal.ApplicationError
	if !errors.As(h.answer.err, &appErr) || appErr.Type() != schemas.ErrTypeRefundExceedsRemaining {
		t.Fatalf("answer err %v", h.answer.err)
	}
	if err := h.GetWorkflowError(); err != nil || len(h.creates) != 0 || len(h.published) != 0 {
		t.Fatalf("workflow %v, %d Stripe creates, events %v", err, len(h.creates), h.published)
	}
}

// A refund Stripe fails after accepting it: the workflow hears it by webhook, reads the
// refund, and reverses it.
func TestRefundFailsLater(t *testing.T) {
	h := newRefundHarness(t)
	h.stripe = schemas.StripeRefund{ID: "re_1", Status: "succeeded", Amount: 700}
	h.RegisterDelayedCallback(func() {
		h.stripe = schemas.StripeRefund{ID: "re_1", Status: "failed", Amount: 700, FailureReason: "expired_or_canceled_card"}
	}, time.Minute)
	for _, evt := range []string{"evt_a", "evt_a", "evt_b"} {
		h.RegisterDelayedCallback(func() {
			h.SignalWorkflow(schemas.SignalStripeEvent, schemas.StripeEventSignal{EventID: evt, Type: "refund.updated", ObjectID: "re_1"})
		}, 2*time.Minute)
	}
	h.ExecuteWorkflow(workflows.RefundWorkflow, refundInput())
	var final schemas.Refund
	if err := h.GetWorkflowResult(&final); err != nil {
		t.Fatal(err)
	}
	if final.Status != schemas.RefundFailed || final.FailureReason != "expired_or_canceled_card" {
		t.Fatalf("final %+v", final)
	}
	if diff := cmp.Diff([]string{schemas.EventRefundCreated, schemas.EventRefundSucceeded, schemas.EventRefundFailed}, h.published); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if n := len(h.recorded); n != 2 || h.recorded[1].Status != schemas.RefundFailed {
		t.Errorf("records %+v, want succeeded then failed", h.recorded)
	}
}

// Stripe refuses at creation: the reservation is released (recorded failed) and the create
// is told.
func TestRefundRefusedByStripe(t *testing.T) {
	h := newRefundHarness(t)
	h.stripeErrs = []error{activities.ClassifyStripeError(&stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeInvalidRequest,
		Code: stripe.ErrorCodeChargeAlreadyRefunded, Msg: "Charge has already been refunded."})}
	h.ExecuteWorkflow(workflows.RefundWorkflow, refundInput())
	if h.answer.result.Refund.Status != schemas.RefundFailed || h.answer.result.Refund.FailureReason != "charge_already_refunded" {
		t.Fatalf("answer %+v", h.answer.result.Refund)
	}
	if diff := cmp.Diff([]string{schemas.EventRefundFailed}, h.published); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// Stripe unreachable for longer than the retry budget: the refund waits for an operator,
// whose retry first looks for the refund an attempt may have created, finds it, and does
// not create another.
func TestRefundFoundAfterRetryBudget(t *testing.T) {
	h := newRefundHarness(t)
	down := activities.ClassifyStripeError(&stripe.Error{HTTPStatusCode: 503, Type: stripe.ErrorTypeAPI, Msg: "unavailable"})
	for i := 0; i < 100; i++ {
		h.stripeErrs = append(h.stripeErrs, down)
	}
	h.found = schemas.StripeRefund{ID: "re_found", Status: "succeeded", Amount: 700}
	h.signalDecision(3*time.Hour, schemas.DecisionRetry)
	in := refundInput()
	in.Policy.StripeRetryBudget = 30 * time.Minute
	h.ExecuteWorkflow(workflows.RefundWorkflow, in)
	var final schemas.Refund
	if err := h.GetWorkflowResult(&final); err != nil || final.StripeRefundID != "re_found" || final.Status != schemas.RefundSucceeded {
		t.Fatalf("final %+v %v", final, err)
	}
	for _, c := range h.creates {
		if c.IdempotencyKey != h.creates[0].IdempotencyKey {
			t.Fatalf("a second key %q: the found refund must be adopted, not doubled", c.IdempotencyKey)
		}
	}
}

// Stripe refuses Durapay's key (401): no retry can fix that. The refund waits for an
// operator (the create is answered, pending), instead of calling Stripe again at once; the
// operator's retry finds no refund at Stripe and creates it under a new key.
func TestRefundParksUntilAnOperatorRetries(t *testing.T) {
	h := newRefundHarness(t)
	unauthorized := activities.ClassifyStripeError(&stripe.Error{HTTPStatusCode: 401, Type: stripe.ErrorTypeInvalidRequest, Msg: "Invalid API Key provided"})
	h.stripeErrs = []error{unauthorized, unauthorized, unauthorized}
	h.stripe = schemas.StripeRefund{ID: "re_1", Status: "succeeded", Amount: 700}
	var createsWhenDecided int
	h.RegisterDelayedCallback(func() { createsWhenDecided = len(h.creates) }, 2*time.Hour-time.Second)
	h.signalDecision(2*time.Hour, schemas.DecisionRetry)
	h.RegisterDelayedCallback(func() { h.stripeErrs = nil }, 2*time.Hour-time.Second)
	h.ExecuteWorkflow(workflows.RefundWorkflow, refundInput())
	var final schemas.Refund
	if err := h.GetWorkflowResult(&final); err != nil || final.Status != schemas.RefundSucceeded {
		t.Fatalf("final %+v %v", final, err)
	}
	if createsWhenDecided != 1 {
		t.Fatalf("%d Stripe creates before the operator decided, want 1: the refund must wait, not loop", createsWhenDecided)
	}
	if h.answer.err != nil || h.answer.result.Refund.Status != schemas.RefundPending {
		t.Errorf("create answered %+v %v, want pending while parked", h.answer.result.Refund, h.answer.err)
	}
	if len(h.attention) != 2 || h.attention[0] == nil || h.attention[0].ErrorType != schemas.ErrTypeStripeAuthentication || h.attention[1] != nil {
		t.Errorf("attention recorded %+v, want the reason then cleared", h.attention)
	}
	if last := h.creates[len(h.creates)-1]; last.IdempotencyKey != schemas.RefundWorkflowID("mer_test", refundID)+"/create_refund/retry-1" {
		t.Errorf("the retry's key %q, want a new one", last.IdempotencyKey)
	}
	if len(h.audited) != 1 || h.audited[0].Action != "refund.operator_retry" || h.audited[0].Resource != refundID {
		t.Errorf("audited %+v", h.audited)
	}
}

// The operator gives up on a parked refund: no refund exists at Stripe, so it fails and its
// amount is refundable again; nothing more is asked of Stripe.
func TestParkedRefundCanceledByAnOperator(t *testing.T) {
	h := newRefundHarness(t)
	idem := activities.ClassifyStripeError(&stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeIdempotency, Msg: "Keys for idempotent requests..."})
	h.stripeErrs = []error{idem}
	h.signalDecision(time.Hour, schemas.DecisionCancel)
	h.ExecuteWorkflow(workflows.RefundWorkflow, refundInput())
	var final schemas.Refund
	if err := h.GetWorkflowResult(&final); err != nil || final.Status != schemas.RefundFailed || final.FailureReason != "canceled_by_operator" {
		t.Fatalf("final %+v %v", final, err)
	}
	if len(h.creates) != 1 {
		t.Errorf("%d Stripe creates, want the one before parking", len(h.creates))
	}
	if diff := cmp.Diff([]string{schemas.EventRefundFailed}, h.published); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// signalDecision sends an operator's decision as the Temporal UI does, at workflow time at.
func (h *refundHarness) signalDecision(at time.Duration, action string) {
	h.RegisterDelayedCallback(func() {
		h.SignalWorkflow(schemas.SignalOperatorDecision, schemas.OperatorDecision{Action: action, Operator: "ui"})
	}, at)
}
