package activities

import (
	"context"
	"time"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"
)

// FindPaymentIntentName is the activity's registered name.
const FindPaymentIntentName = "stripe.FindPaymentIntent"

// FindPaymentIntentRequest names the payment whose PaymentIntent to look for.
type FindPaymentIntentRequest struct {
	PaymentID string
	// CreatedSince bounds the search: no attempt for the payment is older (its workflow's
	// start, less a margin for clocks).
	CreatedSince time.Time
}

// FindPaymentIntent looks for a PaymentIntent Durapay created for the payment, by the
// metadata every one carries. Before an operator's retry creates a PaymentIntent under a new
// idempotency key, this makes sure no earlier attempt already created one, so it must not
// miss one made a moment ago: it lists the PaymentIntents created since the payment's
// workflow started (lists read Stripe's data as written) rather than searching (Stripe's
// search index lags, by a minute normally and more during incidents). The newest match wins:
// a later attempt supersedes an earlier one. It returns a zero PaymentIntent when there is
// none.
func (s *Stripe) FindPaymentIntent(ctx context.Context, req FindPaymentIntentRequest) (PaymentIntent, error) {
	params := &stripe.PaymentIntentListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: req.CreatedSince.Unix()}}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	it := s.api.PaymentIntents.List(params)
	for it.Next() {
		if pi := it.PaymentIntent(); pi.Metadata[MetadataPaymentID] == req.PaymentID {
			return fromStripe(pi), nil
		}
	}
	return PaymentIntent{}, ClassifyStripeError(it.Err())
}

// ExecFindPaymentIntent runs the activity as a local activity (options from ctx).
func ExecFindPaymentIntent(ctx workflow.Context, req FindPaymentIntentRequest) (PaymentIntent, error) {
	var pi PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, FindPaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
