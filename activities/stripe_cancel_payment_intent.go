package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"
)

// CancelPaymentIntentName is the activity's registered name.
const CancelPaymentIntentName = "stripe.CancelPaymentIntent"

// CancelPaymentIntentRequest cancels a PaymentIntent that has not succeeded.
type CancelPaymentIntentRequest struct {
	// IdempotencyKey is the workflow ID and step.
	IdempotencyKey string
	ID             string
	// Reason is Stripe's cancellation_reason (duplicate, fraudulent, requested_by_customer,
	// abandoned), or empty.
	Reason string
}

// CancelPaymentIntent cancels the PaymentIntent, releasing any authorization. A
// PaymentIntent that succeeded meanwhile cannot be canceled: Stripe answers
// payment_intent_unexpected_state (StripeInvalidRequest), and the workflow then reads the
// PaymentIntent and follows it.
func (s *Stripe) CancelPaymentIntent(ctx context.Context, req CancelPaymentIntentRequest) (PaymentIntent, error) {
	pi, err := s.api.PaymentIntents.Cancel(req.ID, cancelParams(ctx, req))
	if err != nil {
		return PaymentIntent{}, ClassifyStripeError(err)
	}
	return fromStripe(pi), nil
}

func cancelParams(ctx context.Context, req CancelPaymentIntentRequest) *stripe.PaymentIntentCancelParams {
	p := &stripe.PaymentIntentCancelParams{}
	if req.Reason != "" {
		p.CancellationReason = stripe.String(req.Reason)
	}
	p.SetIdempotencyKey(req.IdempotencyKey)
	p.Context = ctx
	return p
}

// ExecCancelPaymentIntent runs the activity as a local activity (options from ctx).
func ExecCancelPaymentIntent(ctx workflow.Context, req CancelPaymentIntentRequest) (PaymentIntent, error) {
	var pi PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, CancelPaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
