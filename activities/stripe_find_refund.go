package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// FindRefund lists the PaymentIntent's refunds and returns the one carrying the Durapay
// refund's ID in its metadata, or a zero StripeRefund. A refund whose Stripe calls kept
// failing past their retry budget runs this before it tries again under a new idempotency
// key, so that it never refunds twice.
func (s *Stripe) FindRefund(ctx context.Context, req schemas.FindRefundRequest) (schemas.StripeRefund, error) {
	params := &stripe.RefundListParams{PaymentIntent: stripe.String(req.PaymentIntentID)}
	params.Context = ctx
	it := s.api.Refunds.List(params)
	for it.Next() {
		if re := it.Refund(); re.Metadata[schemas.StripeMetadataRefundID] == req.RefundID {
			return fromStripeRefund(re), nil
		}
	}
	return schemas.StripeRefund{}, ClassifyStripeError(it.Err())
}

// ExecFindRefund runs the activity as a local activity (options from ctx).
func ExecFindRefund(ctx workflow.Context, req schemas.FindRefundRequest) (schemas.StripeRefund, error) {
	var re schemas.StripeRefund
	err := workflow.ExecuteLocalActivity(ctx, schemas.FindRefundName, req).Get(ctx, &re)
	return re, err
}
