package schemas

import "time"

// The history archive keeps closed payments' and refunds' workflow histories in S3 after
// Temporal's retention has deleted them. A schedule runs it on the finance task queue.
const (
	HistoryArchiveWorkflowName = "HistoryArchive"
	ScheduleHistoryArchive     = "history-archive"
)

// HistoryArchiveInput says how far before its saved position a run lists closed workflows
// again: visibility is eventually consistent, so a workflow may show as closed a moment
// after a later one did.
type HistoryArchiveInput struct {
	Overlap time.Duration
}

// HistoryArchiveResult counts the closed runs a run listed, those it archived (the others
// were archived already), and those Temporal deleted before they could be read.
type HistoryArchiveResult struct {
	Listed   int
	Archived int
	Gone     int
}
