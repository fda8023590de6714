package webhooks

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/schemas"
)

// StartDelivery starts the delivery's workflow, once: the workflow ID is the delivery's, a
// running one is found again, and a finished one is never started a second time (a
// redelivery is a new delivery).
func StartDelivery(ctx context.Context, c client.Client, deliveryID string, policy schemas.WebhookRetryPolicy) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       schemas.WebhookDeliveryWorkflowID(deliveryID),
		TaskQueue:                schemas.TaskQueueWebhooks,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, schemas.WebhookDeliveryWorkflowName, schemas.WebhookDeliveryInput{DeliveryID: deliveryID, Policy: policy})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start delivery %s: %w", deliveryID, err)
	}
	return nil
}
