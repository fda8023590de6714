package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/workflows"
)

// The schedule's input reaches the activity, whose failures are retried a few times before
// the run fails (the schedule runs the next one a minute later).
func TestHistoryArchiveRetriesItsActivity(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions((&activities.HistoryArchive{}).ArchiveHistories, activity.RegisterOptions{Name: schemas.ArchiveHistoriesName})
	attempts := 0
	env.OnActivity(schemas.ArchiveHistoriesName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in schemas.HistoryArchiveInput) (schemas.HistoryArchiveResult, error) {
			attempts++
			if in.Overlap != 5*time.Minute {
				t.Errorf("input %+v", in)
			}
			if attempts < 3 {
				return schemas.HistoryArchiveResult{}, errors.New("S3 unreachable")
			}
			return schemas.HistoryArchiveResult{Listed: 4, Archived: 3, Gone: 1}, nil
		})
	env.ExecuteWorkflow(workflows.HistoryArchiveWorkflow, schemas.HistoryArchiveInput{Overlap: 5 * time.Minute})
	var res schemas.HistoryArchiveResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if attempts != 3 || res != (schemas.HistoryArchiveResult{Listed: 4, Archived: 3, Gone: 1}) {
		t.Errorf("%d attempts, result %+v", attempts, res)
	}
}
