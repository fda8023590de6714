package activities

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/schemas"
)

// Webhooks delivers events to merchants' endpoints.
type Webhooks struct {
	store *webhooks.Store
	// client refuses forbidden addresses at dial time and follows no redirects
	// (webhooks.Policy.Client).
	client *http.Client
}

// NewWebhooks wires the webhook activities.
func NewWebhooks(pool *pgxpool.Pool, dataKeys *keyring.Keyring, client *http.Client) *Webhooks {
	return &Webhooks{store: webhooks.NewStore(pool, dataKeys), client: client}
}

// Deliver makes one attempt: it signs the delivery's payload now and POSTs it. The
// endpoint's answer, whatever it is, is the result; only Durapay's own failures (reading the
// delivery) are errors, retried by Temporal. The workflow records the result and decides
// when to try again, so an attempt that reached the endpoint is never repeated by a retry of
// the write that records it.
func (w *Webhooks) Deliver(ctx context.Context, deliveryID string, attempt int) (schemas.WebhookAttemptResult, error) {
	res := schemas.WebhookAttemptResult{DeliveryID: deliveryID, Attempt: attempt}
	now := time.Now()
	t, err := w.store.Target(ctx, deliveryID, now)
	if errors.Is(err, webhooks.ErrNotFound) {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), schemas.ErrTypeWebhookDeliveryMissing, err)
	}
	if err != nil {
		return res, err
	}
	switch {
	case t.Status != webhooks.DeliveryPending:
		res.Settled = true
		return res, nil
	case t.EndpointStatus != webhooks.StatusEnabled:
		res.Gone, res.Error = true, webhooks.ErrorEndpointDisabled
		return res, nil
	}
	code, err := webhooks.Send(ctx, w.client, t, now)
	res.StatusCode, res.DurationMS, res.Succeeded = code, int(time.Since(now).Milliseconds()), err == nil
	if err != nil {
		// The result goes to the delivery log (and the workflow's history) as a class; the
		// error itself only to the workers' log.
		res.Error = webhooks.Classify(err)
		res.Gone = errors.Is(err, webhooks.ErrForbiddenDestination) || errors.Is(err, webhooks.ErrInvalidURL)
		activity.GetLogger(ctx).Info("Webhook attempt failed", "DeliveryID", deliveryID, "Attempt", attempt,
			"StatusCode", code, "ErrorClass", res.Error, "Error", err)
	}
	return res, nil
}

// RecordAttempt writes an attempt to the delivery log.
func (w *Webhooks) RecordAttempt(ctx context.Context, a schemas.WebhookAttemptResult) error {
	return w.store.RecordAttempt(ctx, a)
}

// FailDelivery ends a delivery that will not be tried again. The reason is logged, not
// stored: it may quote the last error, and the delivery log shows that error's class.
func (w *Webhooks) FailDelivery(ctx context.Context, f schemas.WebhookDeliveryFailure) error {
	activity.GetLogger(ctx).Warn("Webhook delivery failed", "DeliveryID", f.DeliveryID, "Reason", f.Reason)
	return w.store.FailDelivery(ctx, f.DeliveryID)
}

// ExecDeliverWebhook runs Deliver as a regular activity (options from ctx): it waits on
// a merchant's server, which must not hold a workflow task.
func ExecDeliverWebhook(ctx workflow.Context, deliveryID string, attempt int) (schemas.WebhookAttemptResult, error) {
	var res schemas.WebhookAttemptResult
	err := workflow.ExecuteActivity(ctx, schemas.DeliverWebhookName, deliveryID, attempt).Get(ctx, &res)
	return res, err
}

// ExecRecordWebhookAttempt runs RecordAttempt as a local activity (options from ctx).
func ExecRecordWebhookAttempt(ctx workflow.Context, a schemas.WebhookAttemptResult) error {
	return workflow.ExecuteLocalActivity(ctx, schemas.RecordWebhookAttemptName, a).Get(ctx, nil)
}

// ExecFailWebhookDelivery runs FailDelivery as a local activity (options from ctx).
func ExecFailWebhookDelivery(ctx workflow.Context, f schemas.WebhookDeliveryFailure) error {
	return workflow.ExecuteLocalActivity(ctx, schemas.FailWebhookDeliveryName, f).Get(ctx, nil)
}
