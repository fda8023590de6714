package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// HistoryArchiveWorkflow keeps the histories of closed payments and refunds for finance,
// once Temporal's retention has deleted them. A Temporal Schedule runs it every minute; each
// run is one activity that archives what closed since the last. A re-run, or a manual run
// beside the scheduled one, archives nothing twice.
func HistoryArchiveWorkflow(ctx workflow.Context, in schemas.HistoryArchiveInput) (schemas.HistoryArchiveResult, error) {
	var res schemas.HistoryArchiveResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, providerSync), schemas.ArchiveHistoriesName, in).Get(ctx, &res)
	if err == nil && res.Gone > 0 {
		// Those histories are lost: the namespace's retention is shorter than it must be, or
		// someone deleted closed payments.
		workflow.GetLogger(ctx).Error("Closed workflows were deleted before they were archived", "Gone", res.Gone, "Archived", res.Archived)
	}
	return res, err
}
