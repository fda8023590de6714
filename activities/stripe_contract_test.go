package activities_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/internal/platform/testenv"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// Every kind of request Durapay sends to Stripe, sent by the activities themselves to
// Stripe's official stripe-mock, which refuses anything its OpenAPI spec does not allow
// (unknown parameters, wrong types, missing required fields). stripe-mock keeps no state and
// ignores idempotency keys, so this proves only that the requests are well-formed; the
// sandbox tests prove behaviour.
func TestStripeRequestsMatchStripesAPI(t *testing.T) {
	t.Parallel()
	path, _ := filepath.Abs(testenv.Getenv("STRIPE_MOCK", "../bin/stripe-mock"))
	url, stop, err := devstack.StartStripeMock(context.Background(), path)
	if err != nil {
		testenv.Unavailable(t, "stripe-mock", err, testenv.BuildTools)
	}
	defer stop()
	api := stripeclient.New(stripeclient.Config{SecretKey: "sk_test_contract", APIBase: url, Timeout: 10 * time.Second})
	stripe := activities.NewStripe(api)
	backfill := activities.NewStripeEvents(api, stripeevents.NewRouter(pgtest.NewPool(t), refuseSignals{t}), pgtest.NewPool(t))
	env := newActivityEnv()
	registerStripe(env, stripe)
	env.RegisterActivityWithOptions(backfill.BackfillStripeEvents, activity.RegisterOptions{Name: schemas.BackfillStripeEventsName})

	create := schemas.CreatePaymentIntentRequest{
		IdempotencyKey: "payment/mer_c/pay_c/create_payment_intent", PaymentID: "pay_c", MerchantID: "mer_c",
		WorkflowID: "payment/mer_c/pay_c", Amount: money.Amount{Minor: 2000, Currency: "usd"}, PaymentMethod: "pm_card_visa",
		CaptureMethod: "automatic", Description: "Order 42", Metadata: map[string]string{"order": "42"}}
	manual := create
	manual.CaptureMethod = "manual"
	requests := []struct {
		name     string
		activity string
		input    any
	}{
		{"create and confirm a schemas.PaymentIntent", schemas.CreatePaymentIntentName, create},
		{"create for a manual capture", schemas.CreatePaymentIntentName, manual},
		{"retrieve a schemas.PaymentIntent", schemas.RetrievePaymentIntentName, schemas.RetrievePaymentIntentRequest{ID: "pi_123"}},
		{"search PaymentIntents by metadata", schemas.FindPaymentIntentName, schemas.FindPaymentIntentRequest{PaymentID: "pay_c"}},
		{"capture all", schemas.CapturePaymentIntentName, schemas.CapturePaymentIntentRequest{IdempotencyKey: "k1", ID: "pi_123"}},
		{"capture part", schemas.CapturePaymentIntentName, schemas.CapturePaymentIntentRequest{IdempotencyKey: "k2", ID: "pi_123", AmountToCapture: 500}},
		{"cancel", schemas.CancelPaymentIntentName, schemas.CancelPaymentIntentRequest{IdempotencyKey: "k3", ID: "pi_123", Reason: "abandoned"}},
		{"refund part of a schemas.PaymentIntent", schemas.CreateRefundName, schemas.CreateStripeRefundRequest{IdempotencyKey: "k4", PaymentIntentID: "pi_123",
			Amount: 500, Reason: "requested_by_customer", Metadata: map[string]string{"order": "42"}, RefundID: "rfd_1", WorkflowID: "refund/mer_c/rfd_1"}},
		{"retrieve a refund", schemas.RetrieveRefundName, schemas.RetrieveRefundRequest{ID: "re_123"}},
		{"list a schemas.PaymentIntent's refunds", schemas.FindRefundName, schemas.FindRefundRequest{PaymentIntentID: "pi_123", RefundID: "rfd_1"}},
		{"list events", schemas.BackfillStripeEventsName, schemas.StripeEventsBackfillInput{Lookback: time.Hour, Overlap: time.Minute}},
	}
	for _, r := range requests {
		if _, err := env.ExecuteActivity(r.activity, r.input); err != nil {
			t.Errorf("%s: stripe-mock refused the request: %v", r.name, err)
		}
	}
}

// refuseSignals fails the test if stripe-mock's fixture events reached a workflow: they
// belong to none of Durapay's.
type refuseSignals struct{ t *testing.T }

func (r refuseSignals) SignalWorkflow(_ context.Context, workflowID, _, _ string, _ any) error {
	r.t.Errorf("signalled %s with a stripe-mock fixture event", workflowID)
	return errors.New("unexpected signal")
}
