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
	"github.com/durapay/durapay/internal/pgtest"
	"github.com/durapay/durapay/internal/stripeclient"
	"github.com/durapay/durapay/internal/stripeevents"
	"github.com/durapay/durapay/internal/testenv"
	"github.com/durapay/durapay/schemas"
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
	env.RegisterActivityWithOptions(backfill.BackfillStripeEvents, activity.RegisterOptions{Name: activities.BackfillStripeEventsName})

	create := activities.CreatePaymentIntentRequest{
		IdempotencyKey: "payment/mer_c/pay_c/create_payment_intent", PaymentID: "pay_c", MerchantID: "mer_c",
		WorkflowID: "payment/mer_c/pay_c", Amount: 2000, Currency: "usd", PaymentMethod: "pm_card_visa",
		CaptureMethod: "automatic", Description: "Order 42", Metadata: map[string]string{"order": "42"}}
	manual := create
	manual.CaptureMethod = "manual"
	requests := []struct {
		name     string
		activity string
		input    any
	}{
		{"create and confirm a PaymentIntent", activities.CreatePaymentIntentName, create},
		{"create for a manual capture", activities.CreatePaymentIntentName, manual},
		{"retrieve a PaymentIntent", activities.RetrievePaymentIntentName, activities.RetrievePaymentIntentRequest{ID: "pi_123"}},
		{"search PaymentIntents by metadata", activities.FindPaymentIntentName, activities.FindPaymentIntentRequest{PaymentID: "pay_c"}},
		{"capture all", activities.CapturePaymentIntentName, activities.CapturePaymentIntentRequest{IdempotencyKey: "k1", ID: "pi_123"}},
		{"capture part", activities.CapturePaymentIntentName, activities.CapturePaymentIntentRequest{IdempotencyKey: "k2", ID: "pi_123", AmountToCapture: 500}},
		{"cancel", activities.CancelPaymentIntentName, activities.CancelPaymentIntentRequest{IdempotencyKey: "k3", ID: "pi_123", Reason: "abandoned"}},
		{"refund part of a PaymentIntent", activities.CreateRefundName, activities.CreateRefundRequest{IdempotencyKey: "k4", PaymentIntentID: "pi_123",
			Amount: 500, Reason: "requested_by_customer", Metadata: map[string]string{"order": "42"}, RefundID: "rfd_1", WorkflowID: "refund/mer_c/rfd_1"}},
		{"retrieve a refund", activities.RetrieveRefundName, activities.RetrieveRefundRequest{ID: "re_123"}},
		{"list a PaymentIntent's refunds", activities.FindRefundName, activities.FindRefundRequest{PaymentIntentID: "pi_123", RefundID: "rfd_1"}},
		{"list events", activities.BackfillStripeEventsName, schemas.StripeEventsBackfillInput{Lookback: time.Hour, Overlap: time.Minute}},
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
