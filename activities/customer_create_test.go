package activities_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.temporal.io/sdk/activity"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
)

// CreateCustomer sends Stripe the idempotency key the workflow gave it, and a second run
// finds the customer it created.
func TestCreateCustomerSendsTheWorkflowsKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, cfg := newSandbox(t)
	pool := pgtest.NewPool(t)
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: "mer_cust", Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	keys := newKeyring(t)
	env := newActivityEnv()
	o := activities.NewOnboarding(pool, stripeclient.New(cfg), keys)
	env.RegisterActivityWithOptions(o.CreateCustomer, activity.RegisterOptions{Name: schemas.CreateCustomerName})
	req := schemas.CreateCustomerRequest{IdempotencyKey: "key-given-by-the-workflow", Input: customerInput(t, keys, "mer_cust", "cust_1")}

	var customers []schemas.Customer
	for i := 0; i < 2; i++ {
		v, err := env.ExecuteLocalActivity(o.CreateCustomer, req)
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		var c schemas.Customer
		if err := v.Get(&c); err != nil {
			t.Fatal(err)
		}
		customers = append(customers, c)
	}
	if customers[0].StripeCustomerID == "" || !cmp.Equal(customers[1], customers[0]) {
		t.Errorf("runs returned %+v, want one customer with its Stripe customer", customers)
	}
	var keysSent []string
	for _, r := range sb.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/customers" {
			keysSent = append(keysSent, r.IdempotencyKey)
		}
	}
	if len(keysSent) != 1 || keysSent[0] != req.IdempotencyKey {
		t.Errorf("Stripe got customer creations under keys %q, want one under %q", keysSent, req.IdempotencyKey)
	}
}
