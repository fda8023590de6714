package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// CreateRefund asks Stripe for the refund, unless FindExisting finds it made already. Its
// metadata leads Stripe's events about it back to the refund's workflow.
func (s *Stripe) CreateRefund(ctx context.Context, req schemas.CreateStripeRefundRequest) (schemas.StripeRefund, error) {
	if req.FindExisting {
		found, err := s.FindRefund(ctx, schemas.FindRefundRequest{PaymentIntentID: req.PaymentIntentID, RefundID: req.RefundID})
		if err != nil || found.ID != "" {
			return found, err
		}
	}
	re, err := s.api.Refunds.New(refundParams(ctx, req))
	if err != nil {
		return schemas.StripeRefund{}, ClassifyStripeError(err)
	}
	return fromStripeRefund(re), nil
}

func refundParams(ctx context.Context, req schemas.CreateStripeRefundRequest) *stripe.RefundParams {
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

func fromStripeRefund(re *stripe.Refund) schemas.StripeRefund {
	return schemas.StripeRefund{ID: re.ID, Status: schemas.StripeRefundStatus(re.Status), Amount: re.Amount, FailureReason: string(re.FailureReason)}
}

// ExecCreateRefund runs the activity as a local activity (options from ctx).
func ExecCreateRefund(ctx workflow.Context, req schemas.CreateStripeRefundRequest) (schemas.StripeRefund, error) {
	var re schemas.StripeRefund
	err := workflow.ExecuteLocalActivity(ctx, schemas.CreateRefundName, req).Get(ctx, &re)
	return re, err
}
