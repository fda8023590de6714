package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// RetrievePaymentIntent reads a PaymentIntent's current state. Workflows apply what it says,
// not a webhook's snapshot, so that duplicate and reordered events cannot move a payment
// backwards. A read has no side effect: retrying it is always safe.
func (s *Stripe) RetrievePaymentIntent(ctx context.Context, req schemas.RetrievePaymentIntentRequest) (schemas.PaymentIntent, error) {
	pi, err := s.api.PaymentIntents.Get(req.ID, &stripe.PaymentIntentParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return schemas.PaymentIntent{}, ClassifyStripeError(err)
	}
	return fromStripe(pi), nil
}

// ExecRetrievePaymentIntent runs the activity as a local activity (options from ctx).
func ExecRetrievePaymentIntent(ctx workflow.Context, req schemas.RetrievePaymentIntentRequest) (schemas.PaymentIntent, error) {
	var pi schemas.PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, schemas.RetrievePaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
