package activities

import (
	"context"
	"encoding/json"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// CreatePaymentIntent creates the PaymentIntent with confirm=true: one round trip both
// creates and attempts the payment.
func (s *Stripe) CreatePaymentIntent(ctx context.Context, req schemas.CreatePaymentIntentRequest) (schemas.PaymentIntent, error) {
	pi, err := s.api.PaymentIntents.New(paymentIntentParams(ctx, req))
	if err != nil {
		return schemas.PaymentIntent{}, ClassifyStripeError(err)
	}
	return fromStripe(pi), nil
}

// paymentIntentParams is the exact request Durapay sends; the contract test sends it to
// stripe-mock to prove it valid against Stripe's API.
func paymentIntentParams(ctx context.Context, req schemas.CreatePaymentIntentRequest) *stripe.PaymentIntentParams {
	p := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(req.Amount.Minor),
		Currency:           stripe.String(req.Currency.String()),
		PaymentMethod:      stripe.String(req.PaymentMethod),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		CaptureMethod:      stripe.String(req.CaptureMethod),
		Confirm:            stripe.Bool(true),
	}
	if req.Description != "" {
		p.Description = stripe.String(req.Description)
	}
	if req.Customer != "" {
		p.Customer = stripe.String(req.Customer)
	}
	for k, v := range req.Metadata {
		p.AddMetadata(k, v)
	}
	p.AddMetadata(schemas.StripeMetadataPaymentID, req.PaymentID)
	p.AddMetadata(schemas.StripeMetadataMerchantID, req.MerchantID)
	p.AddMetadata(schemas.StripeMetadataWorkflowID, req.WorkflowID)
	p.SetIdempotencyKey(req.IdempotencyKey)
	p.Context = ctx
	return p
}

func fromStripe(pi *stripe.PaymentIntent) schemas.PaymentIntent {
	out := schemas.PaymentIntent{ID: pi.ID, Status: schemas.StripeIntentStatus(pi.Status), AmountCapturable: pi.AmountCapturable, AmountReceived: pi.AmountReceived,
		CancellationReason: string(pi.CancellationReason)}
	if pi.LatestCharge != nil {
		out.LatestCharge = pi.LatestCharge.ID
	}
	if e := pi.LastPaymentError; e != nil {
		out.LastPaymentError = &schemas.StripeFailure{Type: string(e.Type), Code: string(e.Code), DeclineCode: string(e.DeclineCode),
			Message: e.Msg, PaymentIntentID: pi.ID}
	}
	// next_action is passed on exactly as Stripe wrote it (the client's Stripe.js reads it),
	// not as stripe-go's struct re-encodes it with every unset field as null.
	if pi.NextAction != nil && pi.LastResponse != nil {
		var raw struct {
			NextAction json.RawMessage `json:"next_action"`
		}
		if json.Unmarshal(pi.LastResponse.RawJSON, &raw) == nil {
			out.NextAction = raw.NextAction
		}
	}
	return out
}

// ExecCreatePaymentIntent runs the activity from workflow code as a local activity: the
// customer waits for it, and a local activity saves the task-queue round trip. Options come
// from ctx (workflows' StripeCall preset).
func ExecCreatePaymentIntent(ctx workflow.Context, req schemas.CreatePaymentIntentRequest) (schemas.PaymentIntent, error) {
	var pi schemas.PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, schemas.CreatePaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
