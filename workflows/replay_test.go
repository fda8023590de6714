package workflows_test

import (
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/workflows"
)

// Every committed history (testdata/histories, recorded from end-to-end runs by
// `make histories`) replays against today's workflow code: a change that would break running
// payments fails here, and must be put behind a version flag (versions.go).
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"happy_path", "decline", "3ds_success", "3ds_timeout", "partial_capture", "manual_capture_canceled", "operator_retry",
		"refund_succeeded", "refund_failed", "onboarding_approved", "onboarding_expired", "webhook_retried", "customer_created",
		"onboarding_parked_retried", "operator_retry_audited", "refund_parked_retried", "history_archive", "audit_anchor"}
	if len(files) < len(want) {
		t.Fatalf("found %d histories, want at least %v", len(files), want)
	}
	for _, name := range want {
		if !contains(files, filepath.Join("testdata/histories", name+".json")) {
			t.Errorf("no recorded history %s", name)
		}
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			t.Parallel()
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.PaymentWorkflow, workflow.RegisterOptions{Name: schemas.PaymentWorkflowName})
			replayer.RegisterWorkflowWithOptions(workflows.RefundWorkflow, workflow.RegisterOptions{Name: schemas.RefundWorkflowName})
			replayer.RegisterWorkflowWithOptions(workflows.OnboardingWorkflow, workflow.RegisterOptions{Name: schemas.OnboardingWorkflowName})
			replayer.RegisterWorkflowWithOptions(workflows.WebhookDeliveryWorkflow, workflow.RegisterOptions{Name: schemas.WebhookDeliveryWorkflowName})
			replayer.RegisterWorkflowWithOptions(workflows.CustomerWorkflow, workflow.RegisterOptions{Name: schemas.CustomerWorkflowName})
			replayer.RegisterWorkflowWithOptions(workflows.HistoryArchiveWorkflow, workflow.RegisterOptions{Name: schemas.HistoryArchiveWorkflowName})
			replayer.RegisterWorkflowWithOptions(workflows.AuditAnchorWorkflow, workflow.RegisterOptions{Name: schemas.AuditAnchorWorkflowName})
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatalf("%s no longer replays: %v", file, err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
