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
	"github.com/durapay/durapay/schemas/money"
	"github.com/durapay/durapay/workflows"
)

var (
	paymentID  = schemas.PaymentID("mer_test", "k1")
	workflowID = schemas.PaymentWorkflowID("mer_test", paymentID)
)

func input() schemas.PaymentInput {
	return schemas.PaymentInput{
		PaymentID: paymentID, MerchantID: "mer_test", IdempotencyKey: "k1", RequestHash: "hash-1",
		Amount: money.Amount{Minor: 2000, Currency: "usd"}, PaymentMethod: "pm_card_visa", CaptureMethod: schemas.CaptureAutomatic,
		Metadata: map[string]string{"order": "42"},
	}
}

// harness is a test environment with Durapay's activities registered under their names, so
// that each test mocks exactly the calls it expects.
type harness struct {
	*testsuite.TestWorkflowEnvironment
	created   []schemas.CreatePaymentIntentRequest
	recorded  []schemas.RecordPaymentRequest
	published []schemas.PublishEventRequest
	audited   []schemas.AuditRecord
}

// newHarness's publishDelay is how long (in workflow time) each Kafka publish takes.
func newHarness(t *testing.T, publishDelay time.Duration) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.PaymentWorkflow, workflow.RegisterOptions{Name: schemas.PaymentWorkflowName})
	stripe := &activities.Stripe{}
	for name, fn := range map[string]any{
		schemas.CreatePaymentIntentName:   stripe.CreatePaymentIntent,
		schemas.RetrievePaymentIntentName: stripe.RetrievePaymentIntent,
		schemas.FindPaymentIntentName:     stripe.FindPaymentIntent,
		schemas.CapturePaymentIntentName:  stripe.CapturePaymentIntent,
		schemas.CancelPaymentIntentName:   stripe.CancelPaymentIntent,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	env.RegisterActivityWithOptions((&activities.Store{}).RecordPayment, activity.RegisterOptions{Name: schemas.RecordPaymentName})
	env.RegisterActivityWithOptions((&activities.Events{}).PublishEvent, activity.RegisterOptions{Name: schemas.PublishEventName})
	env.RegisterActivityWithOptions((&activities.Audit{}).RecordAudit, activity.RegisterOptions{Name: schemas.RecordAuditName})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflowID})
	h := &harness{TestWorkflowEnvironment: env}
	env.OnActivity(schemas.RecordAuditName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, e schemas.AuditRecord) error {
			h.audited = append(h.audited, e)
			return nil
		}).Maybe()
	env.OnActivity(schemas.RecordPaymentName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.RecordPaymentRequest) error {
			h.recorded = append(h.recorded, req)
			return nil
		})
	env.OnActivity(schemas.PublishEventName, mock.Anything, mock.Anything).After(publishDelay).Return(
		func(_ context.Context, req schemas.PublishEventRequest) error {
			h.published = append(h.published, req)
			return nil
		})
	t.Cleanup(func() { env.AssertExpectations(t) })
	return h
}

// stripeReturns makes CreatePaymentIntent answer with each outcome in turn: a PaymentIntent
// or an error.
func (h *harness) stripeReturns(outcomes ...any) {
	for _, o := range outcomes {
		pi, _ := o.(schemas.PaymentIntent)
		err, _ := o.(error)
		h.OnActivity(schemas.CreatePaymentIntentName, mock.Anything, mock.Anything).Return(
			func(_ context.Context, req schemas.CreatePaymentIntentRequest) (schemas.PaymentIntent, error) {
				h.created = append(h.created, req)
				return pi, err
			}).Once()
	}
}

type updateResult struct {
	result schemas.CreatePaymentResult
	err    error
	done   bool
}

// sendCreate delivers a CreatePayment update at the given workflow time (0: with the start,
// as Update-With-Start does).
func (h *harness) sendCreate(at time.Duration, updateID, requestHash string) *updateResult {
	out := &updateResult{}
	h.RegisterDelayedCallback(func() {
		h.UpdateWorkflow(schemas.UpdateCreatePayment, updateID, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { out.err, out.done = err, true },
			OnComplete: func(v any, err error) {
				out.done, out.err = true, err
				if err == nil {
					out.result = v.(schemas.CreatePaymentResult)
				}
			},
		}, schemas.CreatePaymentRequest{RequestHash: requestHash})
	}, at)
	return out
}

func (h *harness) result(t *testing.T) schemas.Payment {
	t.Helper()
	if !h.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := h.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var p schemas.Payment
	if err := h.GetWorkflowResult(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPaymentSucceeds(t *testing.T) {
	h := newHarness(t, 0)
	h.stripeReturns(schemas.PaymentIntent{ID: "pi_1", Status: "succeeded", AmountReceived: 2000})
	answer := h.sendCreate(0, "req-1", "hash-1")
	h.ExecuteWorkflow(workflows.PaymentWorkflow, input())
	final := h.result(t)

	if !answer.done || answer.err != nil || answer.result.Replayed {
		t.Fatalf("create update: done=%v err=%v replayed=%v", answer.done, answer.err, answer.result.Replayed)
	}
	want := schemas.Payment{ID: paymentID, Object: "payment", Merchant: "mer_test", Amount: 2000, Currency: "usd",
		Status: schemas.PaymentSucceeded, CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_visa",
		Metadata: map[string]string{"order": "42"}, AmountCaptured: 2000, StripePaymentIntentID: "pi_1", Created: final.Created}
	if diff := cmp.Diff(want, answer.result.Payment); diff != "" {
		t.Errorf("answered payment (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, final); diff != "" {
		t.Errorf("workflow result (-want +got):\n%s", diff)
	}

	if len(h.created) != 1 {
		t.Fatalf("%d Stripe creates, want 1", len(h.created))
	}
	key := h.created[0].IdempotencyKey
	if key != workflowID+"/create_payment_intent" {
		t.Errorf("idempotency key %q: want the workflow ID and step only (never a run ID or random value)", key)
	}
	if len(h.recorded) != 1 || h.recorded[0].Version != 1 || h.recorded[0].Payment.Status != schemas.PaymentSucceeded {
		t.Fatalf("recorded %+v, want one write of version 1, succeeded", h.recorded)
	}
	if len(h.published) != 1 {
		t.Fatalf("published %d events, want 1", len(h.published))
	}
	ev := h.published[0]
	if ev.Topic != schemas.TopicPayments || ev.Key != paymentID || ev.Event.Type != schemas.EventPaymentSucceeded ||
		ev.Event.ID != schemas.EventID(paymentID, schemas.EventPaymentSucceeded, "1") {
		t.Errorf("published %+v", ev)
	}
	raw, _ := json.Marshal(ev.Event)
	if err := schemas.ValidateEvent(raw); err != nil {
		t.Errorf("event does not match its schema: %v", err)
	}
}

func TestDeclineFailsThePaymentWithoutRetry(t *testing.T) {
	h := newHarness(t, 0)
	decline := activities.ClassifyStripeError(&stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard,
		Code: stripe.ErrorCodeCardDeclined, DeclineCode: stripe.DeclineCodeGenericDecline, Msg: "Your card was declined.",
		PaymentIntent: &stripe.PaymentIntent{ID: "pi_declined"}})
	h.stripeReturns(decline) // .Once(): a second attempt would fail the mock
	answer := h.sendCreate(0, "req-1", "hash-1")
	h.ExecuteWorkflow(workflows.PaymentWorkflow, input())
	final := h.result(t)

	wantFailure := &schemas.PaymentFailure{Type: "card_error", Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."}
	if final.Status != schemas.PaymentFailed || !cmp.Equal(final.Failure, wantFailure) || final.StripePaymentIntentID != "pi_declined" {
		t.Fatalf("payment = %s %+v %s", final.Status, final.Failure, final.StripePaymentIntentID)
	}
	if answer.result.Payment.Status != schemas.PaymentFailed {
		t.Errorf("answer status %s, want failed", answer.result.Payment.Status)
	}
	if len(h.published) != 1 || h.published[0].Event.Type != schemas.EventPaymentFailed {
		t.Fatalf("published %+v, want one payment.failed", h.published)
	}
	raw, _ := json.Marshal(h.published[0].Event)
	if err := schemas.ValidateEvent(raw); err != nil {
		t.Errorf("event does not match its schema: %v", err)
	}
	if len(h.recorded) != 1 || h.recorded[0].Payment.AmountCaptured != 0 {
		t.Errorf("recorded %+v: a decline captures nothing", h.recorded)
	}
}

func TestStripeOutageIsRetriedWithTheSameKey(t *testing.T) {
	h := newHarness(t, 0)
	unavailable := activities.ClassifyStripeError(&stripe.Error{HTTPStatusCode: 500, Type: stripe.ErrorTypeAPI, Msg: "boom"})
	h.stripeReturns(unavailable, unavailable, schemas.PaymentIntent{ID: "pi_1", Status: "succeeded", AmountReceived: 2000})
	h.sendCreate(0, "req-1", "hash-1")
	h.ExecuteWorkflow(workflows.PaymentWorkflow, input())
	if final := h.result(t); final.Status != schemas.PaymentSucceeded {
		t.Fatalf("status %s, want succeeded", final.Status)
	}
	if len(h.created) != 3 {
		t.Fatalf("%d attempts, want 3", len(h.created))
	}
	for _, req := range h.created {
		if req.IdempotencyKey != h.created[0].IdempotencyKey {
			t.Fatalf("attempts used keys %q and %q: a retry must reuse the key", h.created[0].IdempotencyKey, req.IdempotencyKey)
		}
	}
}

func TestDuplicateCreatesGetTheSameAnswer(t *testing.T) {
	h := newHarness(t, time.Minute)
	h.stripeReturns(schemas.PaymentIntent{ID: "pi_1", Status: "succeeded", AmountReceived: 2000})
	first := h.sendCreate(0, "req-1", "hash-1")
	// The client retries while the workflow still runs (publishing takes a minute here).
	retry := h.sendCreate(time.Second, "req-2", "hash-1")
	reused := h.sendCreate(2*time.Second, "req-3", "hash-of-another-request")
	h.ExecuteWorkflow(workflows.PaymentWorkflow, input())
	h.result(t)

	if first.err != nil || first.result.Replayed {
		t.Fatalf("first: %v replayed=%v", first.err, first.result.Replayed)
	}
	if retry.err != nil || !retry.result.Replayed || !cmp.Equal(retry.result.Payment, first.result.Payment) {
		t.Fatalf("retry: err=%v replayed=%v payment=%+v; want the first payment, replayed", retry.err, retry.result.Replayed, retry.result.Payment)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(reused.err, &appErr) || appErr.Type() != schemas.ErrTypeIdempotencyKeyReused {
		t.Fatalf("different request under the same key: err = %v, want %s", reused.err, schemas.ErrTypeIdempotencyKeyReused)
	}
}
