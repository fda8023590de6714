package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// RetentionWorkflow deletes, table by table, the rows older than each rule keeps them. A
// daily schedule runs it; a re-run is harmless (what is gone stays gone). Rules are checked
// before anything is deleted: an unknown table or a retention under a day fails the run.
func RetentionWorkflow(ctx workflow.Context, in schemas.RetentionInput) (schemas.RetentionResult, error) {
	for _, r := range in.Rules {
		if !schemas.Prunable(r.Table) || r.Keep < schemas.MinRetention {
			return schemas.RetentionResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("retention rule %s for %s: want a prunable table, kept at least %s", r.Table, r.Keep, schemas.MinRetention),
				"InvalidRetentionRule", nil)
		}
	}
	now := workflow.Now(ctx)
	actx := workflow.WithActivityOptions(ctx, financeWork)
	res := schemas.RetentionResult{Deleted: map[string]int64{}}
	for _, r := range in.Rules {
		var n int64
		req := schemas.PruneTableRequest{Table: r.Table, Before: now.Add(-r.Keep)}
		if err := workflow.ExecuteActivity(actx, schemas.PruneTableName, req).Get(ctx, &n); err != nil {
			return res, fmt.Errorf("prune %s: %w", r.Table, err)
		}
		res.Deleted[r.Table] = n
		workflow.GetLogger(ctx).Info("Pruned", "Table", r.Table, "Before", req.Before, "Rows", n)
	}
	return res, nil
}
