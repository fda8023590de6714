package activities_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/time/rate"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/internal/stripeclient"
	"github.com/durapay/durapay/internal/testenv"
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

	stripe := activities.NewStripe(stripeclient.New(stripeclient.Config{SecretKey: "sk_test_contract", APIBase: url, Timeout: 10 * time.Second}),
		rate.NewLimiter(rate.Inf, 1))
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(stripe.CreatePaymentIntent, activity.RegisterOptions{Name: activities.CreatePaymentIntentName})

	requests := []struct {
		name     string
		activity string
		input    any
	}{
		{"create and confirm a PaymentIntent", activities.CreatePaymentIntentName, activities.CreatePaymentIntentRequest{
			IdempotencyKey: "payment/mer_c/pay_c/create_payment_intent", PaymentID: "pay_c", MerchantID: "mer_c",
			WorkflowID: "payment/mer_c/pay_c", Amount: 2000, Currency: "usd", PaymentMethod: "pm_card_visa",
			CaptureMethod: "automatic", Description: "Order 42", Metadata: map[string]string{"order": "42"}}},
	}
	for _, r := range requests {
		if _, err := env.ExecuteActivity(r.activity, r.input); err != nil {
			t.Errorf("%s: stripe-mock refused the request: %v", r.name, err)
		}
	}
}
