package activities

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/internal/domain/archive"
	"github.com/durapay/durapay/internal/platform/pg"
)

// TemporalHistories is what the history archive reads from Temporal: closed executions from
// visibility, and their histories as the server stores them (the worker's client.Client).
type TemporalHistories interface {
	ListWorkflow(ctx context.Context, request *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error)
	GetWorkflowHistory(ctx context.Context, workflowID, runID string, isLongPoll bool, filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
}

// HistoryArchive copies the histories of closed payments and refunds from Temporal to the
// archive before the namespace's retention deletes them.
type HistoryArchive struct {
	temporal TemporalHistories
	archive  *archive.Archive
	db       pg.Querier
}

// NewHistoryArchive wires the archive activity to Temporal, the archive and Postgres (its
// saved position).
func NewHistoryArchive(temporal TemporalHistories, a *archive.Archive, db pg.Querier) *HistoryArchive {
	return &HistoryArchive{temporal: temporal, archive: a, db: db}
}
