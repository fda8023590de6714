package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// CapturePaymentIntent captures funds held by an authorization; Stripe releases the rest.
func (s *Stripe) CapturePaymentIntent(ctx context.Context, req schemas.CapturePaymentIntentRequest) (schemas.PaymentIntent, error) {
	pi, err := s.api.PaymentIntents.Capture(req.ID, captureParams(ctx, req))
	if err != nil {
		return schemas.PaymentIntent{}, ClassifyStripeError(err)
	}
	return fromStripe(pi), nil
}

func captureParams(ctx context.Context, req schemas.CapturePaymentIntentRequest) *stripe.PaymentIntentCaptureParams {
	p := &stripe.PaymentIntentCaptureParams{}
	if req.AmountToCapture > 0 {
		p.AmountToCapture = stripe.Int64(req.AmountToCapture)
	}
	p.SetIdempotencyKey(req.IdempotencyKey)
	p.Context = ctx
	return p
}

// ExecCapturePaymentIntent runs the activity as a local activity (options from ctx).
func ExecCapturePaymentIntent(ctx workflow.Context, req schemas.CapturePaymentIntentRequest) (schemas.PaymentIntent, error) {
	var pi schemas.PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, schemas.CapturePaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
