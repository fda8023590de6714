package activities

import (
	"context"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/schemas"
)

// CreateMerchant inserts the merchant (status onboarding) with its sealed profile. Running
// it twice creates it once.
func (o *Onboarding) CreateMerchant(ctx context.Context, req schemas.CreateMerchantRequest) error {
	return merchants.CreateOnboarding(ctx, o.pool, req.Input, req.WorkflowID)
}

// ExecCreateMerchant runs the activity as a local activity (options from ctx).
func ExecCreateMerchant(ctx workflow.Context, req schemas.CreateMerchantRequest) error {
	return workflow.ExecuteLocalActivity(ctx, schemas.CreateMerchantName, req).Get(ctx, nil)
}
