package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// FindPaymentIntent looks for a PaymentIntent Durapay created for the payment, by the
// metadata every one carries. Before an operator's retry creates a PaymentIntent under a new
// idempotency key, this makes sure no earlier attempt already created one, so it must not
// miss one made a moment ago: it lists the PaymentIntents created since the payment's
// workflow started (lists read Stripe's data as written) rather than searching (Stripe's
// search index lags, by a minute normally and more during incidents). The newest match wins:
// a later attempt supersedes an earlier one. It returns a zero PaymentIntent when there is
// none.
func (s *Stripe) FindPaymentIntent(ctx context.Context, req schemas.FindPaymentIntentRequest) (schemas.PaymentIntent, error) {
	params := &stripe.PaymentIntentListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: req.CreatedSince.Unix()}}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	it := s.api.PaymentIntents.List(params)
	for it.Next() {
		if pi := it.PaymentIntent(); pi.Metadata[schemas.StripeMetadataPaymentID] == req.PaymentID {
			return fromStripe(pi), nil
		}
	}
	return schemas.PaymentIntent{}, ClassifyStripeError(it.Err())
}

// ExecFindPaymentIntent runs the activity as a local activity (options from ctx).
func ExecFindPaymentIntent(ctx workflow.Context, req schemas.FindPaymentIntentRequest) (schemas.PaymentIntent, error) {
	var pi schemas.PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, schemas.FindPaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
