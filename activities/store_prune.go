package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/durapay/durapay/internal/retention"
)

// PruneTableName is the activity's registered name.
const PruneTableName = "store.PruneTable"

// PruneTableRequest deletes Table's rows older than Before (internal/retention decides
// which rows may never go).
type PruneTableRequest struct {
	Table  string
	Before time.Time
}

// PruneTable deletes in batches and heartbeats after each, so that a large backlog is
// seen to progress; a retry resumes where the last batch ended, as deleted rows stay so.
func (s *Store) PruneTable(ctx context.Context, req PruneTableRequest) (int64, error) {
	return retention.Prune(ctx, s.pool, req.Table, req.Before, func(deleted int64) {
		activity.RecordHeartbeat(ctx, deleted)
	})
}
