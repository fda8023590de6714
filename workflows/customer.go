package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
)

// stepCreateCustomer names the customer's one Stripe call in its idempotency key.
const stepCreateCustomer = "create_customer"

// CustomerWorkflow creates a merchant's customer: a Stripe Customer and Durapay's record,
// once, however often the merchant retries (the workflow ID derives from its
// Idempotency-Key).
func CustomerWorkflow(ctx workflow.Context, in schemas.CustomerInput) (schemas.Customer, error) {
	opts := stripeCall
	opts.ScheduleToCloseTimeout = schemas.DefaultStripeRetryBudget
	return activities.ExecCreateCustomer(workflow.WithLocalActivityOptions(ctx, opts), schemas.CreateCustomerRequest{
		IdempotencyKey: workflow.GetInfo(ctx).WorkflowExecution.ID + "/" + stepCreateCustomer, Input: in})
}
