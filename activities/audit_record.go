package activities

import (
	"context"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/schemas"
)

// RecordAudit appends to the audit log what a workflow decided on a person's word (an
// operator's decision sent from the Temporal UI reaches no API handler that could).
// A retry may append the entry twice; each copy is true, and the chain stays whole.
func (a *Audit) RecordAudit(ctx context.Context, r schemas.AuditRecord) error {
	_, err := a.log.Append(ctx, audit.Entry{At: r.At, Actor: r.Actor, Action: r.Action, Resource: r.Resource, Outcome: r.Outcome,
		Remote: r.Remote, Details: r.Details})
	return err
}

// ExecRecordAudit runs the activity as a local activity (options from ctx).
func ExecRecordAudit(ctx workflow.Context, e schemas.AuditRecord) error {
	return workflow.ExecuteLocalActivity(ctx, schemas.RecordAuditName, e).Get(ctx, nil)
}
