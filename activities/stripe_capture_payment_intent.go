package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"
)

// CapturePaymentIntentName is the activity's registered name.
const CapturePaymentIntentName = "stripe.CapturePaymentIntent"

// CapturePaymentIntentRequest captures an authorized PaymentIntent.
type CapturePaymentIntentRequest struct {
	// IdempotencyKey is the workflow ID and step: a PaymentIntent is captured at most once.
	IdempotencyKey string
	ID             string
	// AmountToCapture is at most the capturable amount; 0 captures all of it.
	AmountToCapture int64
}

// CapturePaymentIntent captures funds held by an authorization; Stripe releases the rest.
func (s *Stripe) CapturePaymentIntent(ctx context.Context, req CapturePaymentIntentRequest) (PaymentIntent, error) {
	pi, err := s.api.PaymentIntents.Capture(req.ID, captureParams(ctx, req))
	if err != nil {
		return PaymentIntent{}, ClassifyStripeError(err)
	}
	return fromStripe(pi), nil
}

func captureParams(ctx context.Context, req CapturePaymentIntentRequest) *stripe.PaymentIntentCaptureParams {
	p := &stripe.PaymentIntentCaptureParams{}
	if req.AmountToCapture > 0 {
		p.AmountToCapture = stripe.Int64(req.AmountToCapture)
	}
	p.SetIdempotencyKey(req.IdempotencyKey)
	p.Context = ctx
	return p
}

// ExecCapturePaymentIntent runs the activity as a local activity (options from ctx).
func ExecCapturePaymentIntent(ctx workflow.Context, req CapturePaymentIntentRequest) (PaymentIntent, error) {
	var pi PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, CapturePaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
