package activities

import (
	"context"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/schemas"
)

// RecordOnboarding writes the onboarding's state on the merchant, for
// GET /v1/merchants/{id}. The state only grows more complete, and a replay writes it again;
// a merchant that reached a final status (active, rejected, expired) keeps it, whatever a
// later run of its onboarding would write.
func (o *Onboarding) RecordOnboarding(ctx context.Context, st schemas.OnboardingState) error {
	return merchants.RecordOnboarding(ctx, o.pool, st)
}

// ExecRecordOnboarding runs the activity as a local activity (options from ctx).
func ExecRecordOnboarding(ctx workflow.Context, st schemas.OnboardingState) error {
	return workflow.ExecuteLocalActivity(ctx, schemas.RecordOnboardingName, st).Get(ctx, nil)
}
