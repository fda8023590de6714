package workflows_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/workflows"
)

// The Stripe idempotency key of a customer comes from the workflow, as every Stripe key
// does: its ID and the step. It is the key the activity used to build for itself, so the
// customers being created when this changed send Stripe the same request.
func TestCustomerWorkflowGivesTheStripeKey(t *testing.T) {
	t.Parallel()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.CustomerWorkflow, workflow.RegisterOptions{Name: schemas.CustomerWorkflowName})
	env.RegisterActivityWithOptions((&activities.Onboarding{}).CreateCustomer, activity.RegisterOptions{Name: schemas.CreateCustomerName})
	in := schemas.CustomerInput{CustomerID: "cust_1", MerchantID: "mer_a", SealedProfile: []byte("sealed"), IdempotencyKey: "k1", RequestHash: "h1"}
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: schemas.CustomerWorkflowID(in.MerchantID, in.CustomerID)})
	var got []schemas.CreateCustomerRequest
	env.OnActivity(schemas.CreateCustomerName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.CreateCustomerRequest) (schemas.Customer, error) {
			got = append(got, req)
			return schemas.Customer{ID: req.Input.CustomerID, Object: "customer"}, nil
		})
	env.ExecuteWorkflow(schemas.CustomerWorkflowName, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := []schemas.CreateCustomerRequest{{IdempotencyKey: "customer/mer_a/cust_1/create_customer", Input: in}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreateCustomer's requests (-want +got):\n%s", diff)
	}
}
