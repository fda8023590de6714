package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// CancelPaymentIntent cancels the PaymentIntent, releasing any authorization. A
// PaymentIntent that succeeded meanwhile cannot be canceled: Stripe answers
// payment_intent_unexpected_state (StripeInvalidRequest), and the workflow then reads the
// PaymentIntent and follows it.
func (s *Stripe) CancelPaymentIntent(ctx context.Context, req schemas.CancelPaymentIntentRequest) (schemas.PaymentIntent, error) {
	pi, err := s.api.PaymentIntents.Cancel(req.ID, cancelParams(ctx, req))
	if err != nil {
		return schemas.PaymentIntent{}, ClassifyStripeError(err)
	}
	return fromStripe(pi), nil
}

func cancelParams(ctx context.Context, req schemas.CancelPaymentIntentRequest) *stripe.PaymentIntentCancelParams {
	p := &stripe.PaymentIntentCancelParams{}
	if req.Reason != "" {
		p.CancellationReason = stripe.String(req.Reason)
	}
	p.SetIdempotencyKey(req.IdempotencyKey)
	p.Context = ctx
	return p
}

// ExecCancelPaymentIntent runs the activity as a local activity (options from ctx).
func ExecCancelPaymentIntent(ctx workflow.Context, req schemas.CancelPaymentIntentRequest) (schemas.PaymentIntent, error) {
	var pi schemas.PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, schemas.CancelPaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
