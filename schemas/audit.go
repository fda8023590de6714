package schemas

import "time"

// The audit log's anchors (internal/domain/audit): a schedule on the finance task queue writes the
// chain's last row to S3 under object lock.
const (
	AuditAnchorWorkflowName = "AuditAnchor"
	ScheduleAuditAnchor     = "audit-anchor"
)

// AuditAnchorInput says how long an anchor is locked (S3 Object Lock, compliance mode).
type AuditAnchorInput struct {
	RetainFor time.Duration
}

// AuditAnchorResult is the anchor written: the row anchored and the object holding it;
// zero when the log was empty.
type AuditAnchorResult struct {
	Seq    int64
	Object string
}
