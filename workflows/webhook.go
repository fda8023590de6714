package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
)

// webhookAttempt is one POST to a merchant's endpoint. The HTTP client gives up after 10 s;
// the activity is retried only when Durapay itself failed (reading the delivery).
var webhookAttempt = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: []string{schemas.ErrTypeWebhookDeliveryMissing},
	},
}

// WebhookDeliveryWorkflow delivers one event to one endpoint: it POSTs until the endpoint
// answers 2xx, waiting twice as long after each refusal (up to the policy's maximum), for
// the policy's window (3 days). Every attempt is recorded in the endpoint's delivery log.
//
// The backoff is the workflow's own loop rather than the activity's retry policy so that
// an attempt and the write recording it are separate steps: an attempt that reached the
// endpoint is never repeated because its record failed to write.
func WebhookDeliveryWorkflow(ctx workflow.Context, in schemas.WebhookDeliveryInput) error {
	deadline := workflow.Now(ctx).Add(in.Policy.Window)
	delay := in.Policy.InitialInterval
	attemptCtx := workflow.WithActivityOptions(ctx, webhookAttempt)
	recordCtx := workflow.WithLocalActivityOptions(ctx, dbWrite)
	for attempt := 1; ; attempt++ {
		res, err := activities.ExecDeliverWebhook(attemptCtx, in.DeliveryID, attempt)
		if err != nil {
			return err // the delivery is gone from Postgres: nothing to record it on
		}
		if res.Settled {
			return nil
		}
		if err := activities.ExecRecordWebhookAttempt(recordCtx, res); err != nil {
			return err
		}
		if res.Succeeded {
			return nil
		}
		reason := ""
		switch {
		case res.Gone:
			reason = "endpoint gone: " + res.Error
		case workflow.Now(ctx).Add(delay).After(deadline):
			reason = fmt.Sprintf("no 2xx answer in %d attempts over %s", attempt, in.Policy.Window)
		}
		if reason != "" {
			return activities.ExecFailWebhookDelivery(recordCtx, schemas.WebhookDeliveryFailure{DeliveryID: in.DeliveryID, Reason: reason})
		}
		if err := workflow.Sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, in.Policy.MaximumInterval)
	}
}
