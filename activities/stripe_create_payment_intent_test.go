package activities_test

import (
	"errors"
	"testing"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

type stripeFixture struct {
	sandbox *stripesandbox.Server
	env     *testsuite.TestActivityEnvironment
	client  *stripeclient.Config
}

func newStripeFixture(t *testing.T) *stripeFixture {
	t.Helper()
	sb, cfg := newSandbox(t)
	env := newActivityEnv()
	registerStripe(env, activities.NewStripe(stripeclient.New(cfg)))
	return &stripeFixture{sandbox: sb, env: env, client: &cfg}
}

func (f *stripeFixture) create(req schemas.CreatePaymentIntentRequest) (schemas.PaymentIntent, error) {
	v, err := f.env.ExecuteActivity(schemas.CreatePaymentIntentName, req)
	if err != nil {
		return schemas.PaymentIntent{}, err
	}
	var pi schemas.PaymentIntent
	return pi, v.Get(&pi)
}

// paymentIntentsFor counts the PaymentIntents Stripe holds for a payment.
func (f *stripeFixture) paymentIntentsFor(t *testing.T, paymentID string) int {
	t.Helper()
	it := stripeclient.New(*f.client).PaymentIntents.Search(&stripe.PaymentIntentSearchParams{
		SearchParams: stripe.SearchParams{Query: "metadata['" + schemas.StripeMetadataPaymentID + "']:'" + paymentID + "'"}})
	n := 0
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// registerStripe registers the Stripe activities under their names, as the worker does.
func registerStripe(env *testsuite.TestActivityEnvironment, s *activities.Stripe) {
	for name, fn := range map[string]any{
		schemas.CreatePaymentIntentName:   s.CreatePaymentIntent,
		schemas.RetrievePaymentIntentName: s.RetrievePaymentIntent,
		schemas.FindPaymentIntentName:     s.FindPaymentIntent,
		schemas.CapturePaymentIntentName:  s.CapturePaymentIntent,
		schemas.CancelPaymentIntentName:   s.CancelPaymentIntent,
		schemas.CreateRefundName:          s.CreateRefund,
		schemas.RetrieveRefundName:        s.RetrieveRefund,
		schemas.FindRefundName:            s.FindRefund,
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

func createRequest(paymentID, pm string) schemas.CreatePaymentIntentRequest {
	return schemas.CreatePaymentIntentRequest{
		IdempotencyKey: "payment/mer_a/" + paymentID + "/create_payment_intent", PaymentID: paymentID, MerchantID: "mer_a",
		WorkflowID: "payment/mer_a/" + paymentID, Amount: money.Amount{Minor: 2000, Currency: "usd"}, PaymentMethod: pm, CaptureMethod: "automatic",
		Metadata: map[string]string{"order": "42"},
	}
}

func TestCreatePaymentIntentTwiceIsOnePayment(t *testing.T) {
	t.Parallel()
	f := newStripeFixture(t)
	req := createRequest("pay_twice", "pm_card_visa")
	first, err := f.create(req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.create(req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != "succeeded" || first.AmountReceived != 2000 || second.ID != first.ID {
		t.Fatalf("first %+v, second %+v: want one succeeded schemas.PaymentIntent", first, second)
	}
	if n := f.paymentIntentsFor(t, "pay_twice"); n != 1 {
		t.Fatalf("Stripe holds %d PaymentIntents for the payment, want 1", n)
	}
}

func TestCreatePaymentIntentDecline(t *testing.T) {
	t.Parallel()
	f := newStripeFixture(t)
	_, err := f.create(createRequest("pay_declined", "pm_card_chargeDeclinedInsufficientFunds"))
	failure, errType, ok := activities.StripeFailureOf(err)
	if !ok || errType != schemas.ErrTypeStripeCard {
		t.Fatalf("err = %v, want a %s with details", err, schemas.ErrTypeStripeCard)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Fatal("a decline must not be retried")
	}
	if failure.Code != "card_declined" || failure.DeclineCode != "insufficient_funds" || failure.PaymentIntentID == "" {
		t.Fatalf("failure = %+v", failure)
	}
}

func TestCreatePaymentIntentRequiresAction(t *testing.T) {
	t.Parallel()
	f := newStripeFixture(t)
	pi, err := f.create(createRequest("pay_3ds", "pm_card_threeDSecure2Required"))
	if err != nil {
		t.Fatal(err)
	}
	if pi.Status != "requires_action" || len(pi.NextAction) == 0 || string(pi.NextAction) == "null" {
		t.Fatalf("pi = %s next_action %s", pi.Status, pi.NextAction)
	}
}

// After a lost answer or a 500, the retry (same key) finds the first attempt's PaymentIntent.
func TestCreatePaymentIntentAfterFaults(t *testing.T) {
	t.Parallel()
	for _, mode := range []stripesandbox.FaultMode{stripesandbox.FaultServerError, stripesandbox.FaultDropAfterApply, stripesandbox.FaultLockTimeout} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			f := newStripeFixture(t)
			if err := f.sandbox.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/payment_intents", Mode: mode, Times: 1}); err != nil {
				t.Fatal(err)
			}
			req := createRequest("pay_fault", "pm_card_visa")
			_, err := f.create(req)
			var appErr *temporal.ApplicationError
			if err != nil && (!errors.As(err, &appErr) || appErr.NonRetryable()) {
				t.Fatalf("first attempt: %v, want a retryable error", err)
			}
			pi, err := f.create(req)
			if err != nil || pi.Status != "succeeded" {
				t.Fatalf("retry: %+v %v", pi, err)
			}
			if n := f.paymentIntentsFor(t, "pay_fault"); n != 1 {
				t.Fatalf("Stripe holds %d PaymentIntents for the payment, want 1", n)
			}
		})
	}
}
