package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"
)

// FindPaymentIntentName is the activity's registered name.
const FindPaymentIntentName = "stripe.FindPaymentIntent"

// FindPaymentIntentRequest names the payment whose PaymentIntent to look for.
type FindPaymentIntentRequest struct {
	PaymentID string
}

// FindPaymentIntent looks for a PaymentIntent Durapay created for the payment, by the
// metadata every one carries. Before an operator's retry creates a PaymentIntent under a new
// idempotency key, this makes sure no earlier attempt already created one (Stripe's search
// index lags by up to a minute; operator retries come much later than that).
// It returns a zero PaymentIntent when there is none.
func (s *Stripe) FindPaymentIntent(ctx context.Context, req FindPaymentIntentRequest) (PaymentIntent, error) {
	params := &stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{
		Query: "metadata['" + MetadataPaymentID + "']:'" + req.PaymentID + "'", Context: ctx}}
	params.Limit = stripe.Int64(10)
	it := s.api.PaymentIntents.Search(params)
	// Newest first: a later attempt supersedes an earlier one.
	if it.Next() {
		return fromStripe(it.PaymentIntent()), nil
	}
	return PaymentIntent{}, ClassifyStripeError(it.Err())
}

// ExecFindPaymentIntent runs the activity as a local activity (options from ctx).
func ExecFindPaymentIntent(ctx workflow.Context, req FindPaymentIntentRequest) (PaymentIntent, error) {
	var pi PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, FindPaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
