package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// RetrieveRefund reads a refund's current state, which the workflow follows rather than a
// webhook's snapshot.
func (s *Stripe) RetrieveRefund(ctx context.Context, req schemas.RetrieveRefundRequest) (schemas.StripeRefund, error) {
	re, err := s.api.Refunds.Get(req.ID, &stripe.RefundParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return schemas.StripeRefund{}, ClassifyStripeError(err)
	}
	return fromStripeRefund(re), nil
}

// ExecRetrieveRefund runs the activity as a local activity (options from ctx).
func ExecRetrieveRefund(ctx workflow.Context, req schemas.RetrieveRefundRequest) (schemas.StripeRefund, error) {
	var re schemas.StripeRefund
	err := workflow.ExecuteLocalActivity(ctx, schemas.RetrieveRefundName, req).Get(ctx, &re)
	return re, err
}
