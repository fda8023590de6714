package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/schemas"
)

// AuditAnchorWorkflow anchors the audit log's last row in S3 under object lock
// (internal/domain/audit), so that no one, not even whoever holds the audit key, can rewrite or
// remove the rows up to it unseen. A Temporal Schedule runs it every hour; a run that fails
// leaves the next one to anchor.
func AuditAnchorWorkflow(ctx workflow.Context, in schemas.AuditAnchorInput) (schemas.AuditAnchorResult, error) {
	if in.RetainFor <= 0 {
		return schemas.AuditAnchorResult{}, temporal.NewNonRetryableApplicationError(
			"an audit anchor must be locked for a positive time", "InvalidAuditAnchorInput", nil)
	}
	var res schemas.AuditAnchorResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, anchorWrite), schemas.AnchorAuditLogName, in).Get(ctx, &res)
	if err == nil && res.Seq > 0 {
		workflow.GetLogger(ctx).Info("Anchored the audit log", "Seq", res.Seq, "Object", res.Object)
	}
	return res, err
}
