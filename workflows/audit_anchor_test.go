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

// The schedule's lock time reaches the activity; a run without one anchors nothing.
func TestAuditAnchorPassesTheLockTime(t *testing.T) {
	for name, c := range map[string]struct {
		retain  time.Duration
		anchors int
	}{
		"seven years": {7 * 365 * 24 * time.Hour, 1},
		"none":        {0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			env.RegisterActivityWithOptions((&activities.Audit{}).AnchorAuditLog, activity.RegisterOptions{Name: schemas.AnchorAuditLogName})
			var got []schemas.AuditAnchorInput
			env.OnActivity(schemas.AnchorAuditLogName, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in schemas.AuditAnchorInput) (schemas.AuditAnchorResult, error) {
					got = append(got, in)
					return schemas.AuditAnchorResult{Seq: 7, Object: "audit-anchors/x-7.json"}, nil
				}).Maybe()
			env.ExecuteWorkflow(workflows.AuditAnchorWorkflow, schemas.AuditAnchorInput{RetainFor: c.retain})
			if len(got) != c.anchors || (c.anchors == 1 && got[0].RetainFor != c.retain) {
				t.Errorf("anchored with %+v", got)
			}
			var appErr *temporal.ApplicationError
			if err := env.GetWorkflowError(); (c.anchors == 0) != errors.As(err, &appErr) {
				t.Errorf("workflow error %v", err)
			}
		})
	}
}
