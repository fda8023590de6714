package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// RecordOnboarding writes the onboarding's state on the merchant, for
// GET /v1/merchants/{id}. The state only grows more complete, and a replay writes it again;
// a merchant that reached a final status (active, rejected, expired) keeps it, whatever a
// later run of its onboarding would write.
func (o *Onboarding) RecordOnboarding(ctx context.Context, st schemas.OnboardingState) error {
	_, err := o.pool.Exec(ctx, `UPDATE merchants SET status = $2, stripe_account_id = nullif($3, ''), onboarding = $4, updated_at = now()
		WHERE id = $1 AND (status NOT IN ('active', 'rejected', 'expired') OR status = $2)`, st.Merchant, st.Status, st.StripeAccountID, st)
	if err != nil {
		return fmt.Errorf("record onboarding of %s: %w", st.Merchant, err)
	}
	return nil
}

// ExecRecordOnboarding runs the activity as a local activity (options from ctx).
func ExecRecordOnboarding(ctx workflow.Context, st schemas.OnboardingState) error {
	return workflow.ExecuteLocalActivity(ctx, schemas.RecordOnboardingName, st).Get(ctx, nil)
}
