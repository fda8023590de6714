package activities

import "github.com/durapay/durapay/internal/domain/audit"

// Audit appends to the audit log, keyed with the audit keys, and anchors its head in S3.
type Audit struct {
	log     *audit.Log
	anchors *audit.Anchors
}

// NewAudit wires the audit activities to the log and the anchors' bucket.
func NewAudit(log *audit.Log, anchors *audit.Anchors) *Audit {
	return &Audit{log: log, anchors: anchors}
}
