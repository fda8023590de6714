package schemas

import "time"

const (
	RetentionWorkflowName = "Retention"
	ScheduleRetention     = "daily-retention"
)

// RetentionInput says how long each prunable table keeps its rows (internal/retention).
type RetentionInput struct {
	Rules []RetentionRule
}

// RetentionRule keeps Table's rows for Keep.
type RetentionRule struct {
	Table string
	Keep  time.Duration
}

// RetentionResult counts the rows deleted, per table.
type RetentionResult struct {
	Deleted map[string]int64
}
