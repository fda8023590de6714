package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/durapay/durapay/internal/domain/retention"
	"github.com/durapay/durapay/schemas"
)

// PruneTable deletes in batches and heartbeats after each, so that a large backlog is
// seen to progress; a retry resumes where the last batch ended, as deleted rows stay so.
func (s *Store) PruneTable(ctx context.Context, req schemas.PruneTableRequest) (int64, error) {
	return retention.Prune(ctx, s.pool, req.Table, req.Before, func(deleted int64) {
		activity.RecordHeartbeat(ctx, deleted)
	})
}
