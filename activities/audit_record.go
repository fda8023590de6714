package activities

import (
	"context"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/audit"
)

// RecordAuditName is the activity's registered name. It was a Store method's: the name
// stays, as histories hold it.
const RecordAuditName = "store.RecordAudit"

// RecordAudit appends to the audit log what a workflow decided on a person's word (an
// operator's decision sent from the Temporal UI reaches no API handler that could).
// A retry may append the entry twice; each copy is true, and the chain stays whole.
func (a *Audit) RecordAudit(ctx context.Context, e audit.Entry) error {
	_, err := a.log.Append(ctx, e)
	return err
}

// ExecRecordAudit runs the activity as a local activity (options from ctx).
func ExecRecordAudit(ctx workflow.Context, e audit.Entry) error {
	return workflow.ExecuteLocalActivity(ctx, RecordAuditName, e).Get(ctx, nil)
}
