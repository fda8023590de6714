package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// CreateRefundName is the activity's registered name.
const CreateRefundName = "stripe.CreateRefund"

// CreateRefundRequest refunds part or all of a PaymentIntent's charge.
type CreateRefundRequest struct {
	// IdempotencyKey is the refund's workflow ID and step.
	IdempotencyKey  string
	PaymentIntentID string
	Amount          int64
	// Reason is Stripe's: duplicate, fraudulent, requested_by_customer, or empty.
	Reason     string
	Metadata   map[string]string
	RefundID   string
	WorkflowID string
	// FindExisting looks for the refund at Stripe (by its metadata) before creating it: for
	// a refund an earlier run may have created while Stripe no longer knows its key.
	FindExisting bool
}

// StripeRefund is what Durapay keeps of a Stripe refund.
type StripeRefund struct {
	ID     string
	Status string // pending, succeeded, failed, canceled, requires_action
	Amount int64
	// FailureReason is Stripe's, for a failed refund.
	FailureReason string
}

// CreateRefund asks Stripe for the refund, unless FindExisting finds it made already. Its
// metadata leads Stripe's events about it back to the refund's workflow.
func (s *Stripe) CreateRefund(ctx context.Context, req CreateRefundRequest) (StripeRefund, error) {
	if req.FindExisting {
		found, err := s.FindRefund(ctx, FindRefundRequest{PaymentIntentID: req.PaymentIntentID, RefundID: req.RefundID})
		if err != nil || found.ID != "" {
			return found, err
		}
	}
	re, err := s.api.Refunds.New(refundParams(ctx, req))
	if err != nil {
		return StripeRefund{}, ClassifyStripeError(err)
	}
	return fromStripeRefund(re), nil
}

func refundParams(ctx context.Context, req CreateRefundRequest) *stripe.RefundParams {
	p := &stripe.RefundParams{PaymentIntent: stripe.String(req.PaymentIntentID), Amount: stripe.Int64(req.Amount)}
	if req.Reason != "" {
		p.Reason = stripe.String(req.Reason)
	}
	for k, v := range req.Metadata {
		p.AddMetadata(k, v)
	}
	p.AddMetadata(schemas.StripeMetadataRefundID, req.RefundID)
	p.AddMetadata(schemas.StripeMetadataWorkflowID, req.WorkflowID)
	p.SetIdempotencyKey(req.IdempotencyKey)
	p.Context = ctx
	return p
}

func fromStripeRefund(re *stripe.Refund) StripeRefund {
	return StripeRefund{ID: re.ID, Status: string(re.Status), Amount: re.Amount, FailureReason: string(re.FailureReason)}
}

// ExecCreateRefund runs the activity as a local activity (options from ctx).
func ExecCreateRefund(ctx workflow.Context, req CreateRefundRequest) (StripeRefund, error) {
	var re StripeRefund
	err := workflow.ExecuteLocalActivity(ctx, CreateRefundName, req).Get(ctx, &re)
	return re, err
}
