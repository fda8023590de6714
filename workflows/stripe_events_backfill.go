package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// StripeEventsBackfillWorkflow delivers the Stripe events that no webhook brought (an outage
// of Durapay's endpoint longer than Stripe's retries, a lost delivery). A Temporal Schedule
// runs it every minute; each run is one activity that reads Stripe's Events list.
func StripeEventsBackfillWorkflow(ctx workflow.Context, in schemas.StripeEventsBackfillInput) (schemas.StripeEventsBackfillResult, error) {
	var res schemas.StripeEventsBackfillResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, providerSync), schemas.BackfillStripeEventsName, in).Get(ctx, &res)
	if err == nil && res.Delivered > 0 {
		workflow.GetLogger(ctx).Info("Delivered Stripe events that no webhook brought", "Delivered", res.Delivered, "Listed", res.Listed)
	}
	return res, err
}
