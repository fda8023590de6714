package workflows_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/workflows"
)

// webhookHarness runs WebhookDeliveryWorkflow against an endpoint that answers from a
// script, and keeps what the workflow recorded.
type webhookHarness struct {
	*testsuite.TestWorkflowEnvironment
	answers  []schemas.WebhookAttemptResult // one per attempt; the last repeats
	attempts []int
	recorded []schemas.WebhookAttemptResult
	failed   []schemas.WebhookDeliveryFailure
	at       []time.Time // workflow time of each attempt
}

func newWebhookHarness(t *testing.T, answers ...schemas.WebhookAttemptResult) *webhookHarness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.WebhookDeliveryWorkflow, workflow.RegisterOptions{Name: schemas.WebhookDeliveryWorkflowName})
	w := &activities.Webhooks{}
	env.RegisterActivityWithOptions(w.Deliver, activity.RegisterOptions{Name: schemas.DeliverWebhookName})
	env.RegisterActivityWithOptions(w.RecordAttempt, activity.RegisterOptions{Name: schemas.RecordWebhookAttemptName})
	env.RegisterActivityWithOptions(w.FailDelivery, activity.RegisterOptions{Name: schemas.FailWebhookDeliveryName})
	h := &webhookHarness{TestWorkflowEnvironment: env, answers: answers}
	env.OnActivity(schemas.DeliverWebhookName, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id string, attempt int) (schemas.WebhookAttemptResult, error) {
			h.attempts = append(h.attempts, attempt)
			h.at = append(h.at, env.Now())
			res := h.answers[min(attempt, len(h.answers))-1]
			res.DeliveryID, res.Attempt = id, attempt
			return res, nil
		})
	env.OnActivity(schemas.RecordWebhookAttemptName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, a schemas.WebhookAttemptResult) error {
			h.recorded = append(h.recorded, a)
			return nil
		}).Maybe()
	env.OnActivity(schemas.FailWebhookDeliveryName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, f schemas.WebhookDeliveryFailure) error {
			h.failed = append(h.failed, f)
			return nil
		}).Maybe()
	return h
}

var (
	refused  = schemas.WebhookAttemptResult{StatusCode: 500, Error: "http_status"}
	accepted = schemas.WebhookAttemptResult{StatusCode: 200, Succeeded: true}
)

func (h *webhookHarness) run(t *testing.T) {
	t.Helper()
	h.ExecuteWorkflow(schemas.WebhookDeliveryWorkflowName, schemas.WebhookDeliveryInput{DeliveryID: "whd_1", Policy: schemas.DefaultWebhookRetryPolicy})
	if !h.IsWorkflowCompleted() || h.GetWorkflowError() != nil {
		t.Fatalf("workflow: completed %v, error %v", h.IsWorkflowCompleted(), h.GetWorkflowError())
	}
}

func TestWebhookDeliveryRetriesWithBackoffUntilAccepted(t *testing.T) {
	h := newWebhookHarness(t, refused, refused, refused, refused, refused, accepted)
	h.run(t)
	if len(h.recorded) != 6 || !h.recorded[5].Succeeded || len(h.failed) != 0 {
		t.Fatalf("recorded %d attempts (last %+v), failed %v; want 6, the last accepted", len(h.recorded), h.recorded[len(h.recorded)-1], h.failed)
	}
	for i, a := range h.recorded {
		if a.Attempt != i+1 {
			t.Errorf("attempt %d recorded as %d", i+1, a.Attempt)
		}
	}
	// 30 s, then doubling: the policy's backoff, measured in workflow time.
	for i := 1; i < len(h.at); i++ {
		want := schemas.DefaultWebhookRetryPolicy.InitialInterval << (i - 1)
		if got := h.at[i].Sub(h.at[i-1]); got < want || got > want+time.Second {
			t.Errorf("wait before attempt %d = %s, want %s", i+1, got, want)
		}
	}
}

func TestWebhookDeliveryGivesUpAfterTheWindow(t *testing.T) {
	h := newWebhookHarness(t, refused)
	h.run(t)
	if len(h.failed) != 1 {
		t.Fatalf("failed %v, want one failure", h.failed)
	}
	span := h.at[len(h.at)-1].Sub(h.at[0])
	window := schemas.DefaultWebhookRetryPolicy.Window
	if span > window || span < window-schemas.DefaultWebhookRetryPolicy.MaximumInterval {
		t.Errorf("attempts spanned %s, want just under the %s window", span, window)
	}
	// Backoff doubles, capped at the maximum: about 20 attempts in 3 days, not hundreds.
	if n := len(h.attempts); n < 15 || n > 25 {
		t.Errorf("%d attempts in the window, want about 20", n)
	}
	if want := fmt.Sprintf("no 2xx answer in %d attempts", len(h.attempts)); h.failed[0].Reason[:len(want)] != want {
		t.Errorf("reason %q, want it to start with %q", h.failed[0].Reason, want)
	}
}

func TestWebhookDeliveryStopsAtAGoneEndpoint(t *testing.T) {
	h := newWebhookHarness(t, schemas.WebhookAttemptResult{Gone: true, Error: "endpoint_disabled"})
	h.run(t)
	if len(h.attempts) != 1 || len(h.failed) != 1 || len(h.recorded) != 1 {
		t.Fatalf("attempts %v, recorded %d, failed %v; want one of each", h.attempts, len(h.recorded), h.failed)
	}
}

func TestWebhookDeliveryAlreadySettledSendsNothing(t *testing.T) {
	h := newWebhookHarness(t, schemas.WebhookAttemptResult{Settled: true})
	h.run(t)
	if len(h.recorded) != 0 || len(h.failed) != 0 {
		t.Fatalf("recorded %v, failed %v; want nothing", h.recorded, h.failed)
	}
}
