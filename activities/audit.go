package activities

import "github.com/durapay/durapay/internal/audit"

// Audit appends to the audit log, keyed with the audit keys.
type Audit struct {
	log *audit.Log
}

// NewAudit wires the audit activities to the log.
func NewAudit(log *audit.Log) *Audit { return &Audit{log: log} }
