package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/workflows"
)

func retentionEnv(pruned *[]schemas.PruneTableRequest) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions((&activities.Store{}).PruneTable, activity.RegisterOptions{Name: schemas.PruneTableName})
	env.OnActivity(schemas.PruneTableName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req schemas.PruneTableRequest) (int64, error) {
			*pruned = append(*pruned, req)
			return 7, nil
		}).Maybe()
	return env
}

// Each rule prunes its table up to the workflow's time minus its retention.
func TestRetentionPrunesEachTable(t *testing.T) {
	var pruned []schemas.PruneTableRequest
	env := retentionEnv(&pruned)
	start := time.Date(2026, 11, 30, 1, 30, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.ExecuteWorkflow(workflows.RetentionWorkflow, schemas.RetentionInput{Rules: []schemas.RetentionRule{
		{Table: schemas.PrunableIdempotencyRecords, Keep: 30 * 24 * time.Hour},
		{Table: schemas.PrunableWebhookDeliveries, Keep: 90 * 24 * time.Hour},
	}})
	var res schemas.RetentionResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if len(pruned) != 2 || pruned[0].Table != schemas.PrunableIdempotencyRecords || !pruned[0].Before.Equal(start.AddDate(0, 0, -30)) ||
		pruned[1].Table != schemas.PrunableWebhookDeliveries || !pruned[1].Before.Equal(start.AddDate(0, 0, -90)) {
		t.Errorf("pruned %+v", pruned)
	}
	if res.Deleted[schemas.PrunableIdempotencyRecords] != 7 || res.Deleted[schemas.PrunableWebhookDeliveries] != 7 {
		t.Errorf("result %+v", res)
	}
}

// A bad rule fails the run before anything is deleted.
func TestRetentionRefusesBadRules(t *testing.T) {
	for name, rule := range map[string]schemas.RetentionRule{
		"under a day":   {Table: schemas.PrunableNotificationSends, Keep: time.Hour},
		"unknown table": {Table: "ledger_postings", Keep: 365 * 24 * time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			var pruned []schemas.PruneTableRequest
			env := retentionEnv(&pruned)
			env.ExecuteWorkflow(workflows.RetentionWorkflow, schemas.RetentionInput{Rules: []schemas.RetentionRule{
				{Table: schemas.PrunableIdempotencyRecords, Keep: 30 * 24 * time.Hour}, rule}})
			var appErr *temporal.ApplicationError
			if err := env.GetWorkflowError(); !errors.As(err, &appErr) || len(pruned) != 0 {
				t.Errorf("workflow error %v, pruned %+v; want a failure and nothing pruned", err, pruned)
			}
		})
	}
}
