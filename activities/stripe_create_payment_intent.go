package activities

import (
	"context"
	"encoding/json"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// CreatePaymentIntentName is the activity's registered name.
const CreatePaymentIntentName = "stripe.CreatePaymentIntent"

// Metadata keys Durapay sets on every PaymentIntent (see schemas).
const (
	MetadataPaymentID  = schemas.StripeMetadataPaymentID
	MetadataMerchantID = schemas.StripeMetadataMerchantID
	MetadataWorkflowID = schemas.StripeMetadataWorkflowID
)

// CreatePaymentIntentRequest creates and confirms a PaymentIntent in one call.
type CreatePaymentIntentRequest struct {
	// IdempotencyKey is the workflow ID and step: every attempt of this step, in any run, is
	// the same request to Stripe.
	IdempotencyKey string
	PaymentID      string
	MerchantID     string
	WorkflowID     string
	Amount         int64
	Currency       string
	PaymentMethod  string
	CaptureMethod  string
	Description    string
	Metadata       map[string]string
	// Customer is the Stripe Customer (cus_...), or empty.
	Customer string
}

// PaymentIntent is what Durapay keeps of a Stripe PaymentIntent.
type PaymentIntent struct {
	ID               string
	Status           string
	AmountCapturable int64
	AmountReceived   int64
	NextAction       json.RawMessage
	// LatestCharge is the charge of the last confirmation (ch_...).
	LatestCharge string
	// CancellationReason is Stripe's, for a canceled PaymentIntent.
	CancellationReason string
	// LastPaymentError explains why the last confirmation failed (status
	// requires_payment_method): a decline, or failed authentication.
	LastPaymentError *StripeFailure
}

// CreatePaymentIntent creates the PaymentIntent with confirm=true: one round trip both
// creates and attempts the payment.
func (s *Stripe) CreatePaymentIntent(ctx context.Context, req CreatePaymentIntentRequest) (PaymentIntent, error) {
	pi, err := s.api.PaymentIntents.New(paymentIntentParams(ctx, req))
	if err != nil {
		return PaymentIntent{}, ClassifyStripeError(err)
	}
	return fromStripe(pi), nil
}

// paymentIntentParams is the exact request Durapay sends; the contract test sends it to
// stripe-mock to prove it valid against Stripe's API.
func paymentIntentParams(ctx context.Context, req CreatePaymentIntentRequest) *stripe.PaymentIntentParams {
	p := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(req.Amount),
		Currency:           stripe.String(req.Currency),
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
	p.AddMetadata(MetadataPaymentID, req.PaymentID)
	p.AddMetadata(MetadataMerchantID, req.MerchantID)
	p.AddMetadata(MetadataWorkflowID, req.WorkflowID)
	p.SetIdempotencyKey(req.IdempotencyKey)
	p.Context = ctx
	return p
}

func fromStripe(pi *stripe.PaymentIntent) PaymentIntent {
	out := PaymentIntent{ID: pi.ID, Status: string(pi.Status), AmountCapturable: pi.AmountCapturable, AmountReceived: pi.AmountReceived,
		CancellationReason: string(pi.CancellationReason)}
	if pi.LatestCharge != nil {
		out.LatestCharge = pi.LatestCharge.ID
	}
	if e := pi.LastPaymentError; e != nil {
		out.LastPaymentError = &StripeFailure{Type: string(e.Type), Code: string(e.Code), DeclineCode: string(e.DeclineCode),
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
func ExecCreatePaymentIntent(ctx workflow.Context, req CreatePaymentIntentRequest) (PaymentIntent, error) {
	var pi PaymentIntent
	err := workflow.ExecuteLocalActivity(ctx, CreatePaymentIntentName, req).Get(ctx, &pi)
	return pi, err
}
