package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"
)

// RetrieveRefundName is the activity's registered name.
const RetrieveRefundName = "stripe.RetrieveRefund"

// RetrieveRefundRequest names the Stripe refund to read.
type RetrieveRefundRequest struct {
	ID string
}

// RetrieveRefund reads a refund's current state, which the workflow follows rather than a
// webhook's snapshot.
func (s *Stripe) RetrieveRefund(ctx context.Context, req RetrieveRefundRequest) (StripeRefund, error) {
	re, err := s.api.Refunds.Get(req.ID, &stripe.RefundParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return StripeRefund{}, ClassifyStripeError(err)
	}
	return fromStripeRefund(re), nil
}

// ExecRetrieveRefund runs the activity as a local activity (options from ctx).
func ExecRetrieveRefund(ctx workflow.Context, req RetrieveRefundRequest) (StripeRefund, error) {
	var re StripeRefund
	err := workflow.ExecuteLocalActivity(ctx, RetrieveRefundName, req).Get(ctx, &re)
	return re, err
}
