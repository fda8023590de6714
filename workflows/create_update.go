package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// createUpdate answers the update that creates a payment or a refund (Update-With-Start):
// the first request and every retry of it. A retry must carry the request that started the
// workflow (the same Idempotency-Key with another body is refused), and each is answered
// once the outcome is ready, marked replayed unless it is the first.
type createUpdate struct {
	requestHash   string
	firstUpdateID string
}

// validate refuses a request that differs from the one that started the workflow.
func (c *createUpdate) validate(requestHash string) error {
	if requestHash != c.requestHash {
		return temporal.NewNonRetryableApplicationError(
			"this Idempotency-Key was already used with a different request", schemas.ErrTypeIdempotencyKeyReused, nil)
	}
	return nil
}

// await waits until ready and says whether this update is a replay of the first.
func (c *createUpdate) await(ctx workflow.Context, ready func() bool) (replayed bool, err error) {
	updateID := workflow.GetCurrentUpdateInfo(ctx).ID
	if c.firstUpdateID == "" {
		c.firstUpdateID = updateID
	}
	return updateID != c.firstUpdateID, workflow.Await(ctx, ready)
}
