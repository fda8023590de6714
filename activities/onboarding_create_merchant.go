package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// CreateMerchant inserts the merchant (status onboarding) with its sealed profile. Running
// it twice creates it once.
func (o *Onboarding) CreateMerchant(ctx context.Context, req schemas.CreateMerchantRequest) error {
	in := req.Input
	_, err := o.pool.Exec(ctx, `
		INSERT INTO merchants (id, name, status, country, business_type, profile, workflow_id, request_hash, created_by, invited_by)
		VALUES ($1, '', 'onboarding', $2, $3, $4, $5, $6, nullif($7, ''), nullif($8, '')) ON CONFLICT (id) DO NOTHING`,
		in.MerchantID, in.Country, in.BusinessType, in.SealedProfile, req.WorkflowID, in.RequestHash, in.CreatedBy, in.InvitedBy)
	if err != nil {
		return fmt.Errorf("create merchant %s: %w", in.MerchantID, err)
	}
	return nil
}

// ExecCreateMerchant runs the activity as a local activity (options from ctx).
func ExecCreateMerchant(ctx workflow.Context, req schemas.CreateMerchantRequest) error {
	return workflow.ExecuteLocalActivity(ctx, schemas.CreateMerchantName, req).Get(ctx, nil)
}
