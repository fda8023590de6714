package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"

	"github.com/durapay/durapay/internal/domain/archive"
	"github.com/durapay/durapay/internal/domain/cursors"
	"github.com/durapay/durapay/schemas"
)

// cursorHistoryArchive names the archive's saved position in sync_cursors: the close time of
// the last closed workflow it listed.
const cursorHistoryArchive = "history_archive"

// archivePageSize is how many closed executions one visibility page lists.
const archivePageSize = 200

// closedMoneyWorkflows is the visibility query of closed payments and refunds, whose
// histories finance keeps.
var closedMoneyWorkflows = fmt.Sprintf("WorkflowType IN ('%s', '%s') AND ExecutionStatus != 'Running'",
	schemas.PaymentWorkflowName, schemas.RefundWorkflowName)

// ArchiveHistories lists the payments and refunds that closed since the saved position (less
// the overlap; all of them on the first run) and archives the history of each run not
// archived yet, exactly as Temporal stores it. It saves the new position only after the whole
// list was read: visibility lists the newest first, so a run that fails half-way has
// archived newer runs than some it has not, and its retry must list them all again. What it
// archived stays archived, and is skipped.
func (h *HistoryArchive) ArchiveHistories(ctx context.Context, in schemas.HistoryArchiveInput) (schemas.HistoryArchiveResult, error) {
	var res schemas.HistoryArchiveResult
	since, ok, err := cursors.Position(ctx, h.db, cursorHistoryArchive)
	if err != nil {
		return res, err
	}
	query := closedMoneyWorkflows
	if ok {
		query += fmt.Sprintf(" AND CloseTime >= '%s'", since.Add(-in.Overlap).UTC().Format(time.RFC3339Nano))
	}
	newest := since
	var token []byte
	for {
		page, err := h.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: query, PageSize: archivePageSize, NextPageToken: token})
		if err != nil {
			return res, fmt.Errorf("list closed workflows (%s): %w", query, err)
		}
		if err := h.archivePage(ctx, page.GetExecutions(), &res); err != nil {
			return res, err
		}
		for _, ex := range page.GetExecutions() {
			if closed := ex.GetCloseTime().AsTime(); closed.After(newest) {
				newest = closed
			}
		}
		if token = page.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if newest.IsZero() {
		return res, nil // nothing has closed yet
	}
	return res, cursors.Advance(ctx, h.db, cursorHistoryArchive, newest)
}

// archivePage archives the runs of one page that the archive does not have yet.
func (h *HistoryArchive) archivePage(ctx context.Context, executions []*workflowpb.WorkflowExecutionInfo, res *schemas.HistoryArchiveResult) error {
	runs := make([]archive.Run, len(executions))
	for i, ex := range executions {
		runs[i] = archive.Run{WorkflowID: ex.GetExecution().GetWorkflowId(), RunID: ex.GetExecution().GetRunId(),
			WorkflowType: ex.GetType().GetName(), ClosedAt: ex.GetCloseTime().AsTime()}
	}
	archived, err := h.archive.Archived(ctx, runs)
	if err != nil {
		return err
	}
	for _, run := range runs {
		res.Listed++
		activity.RecordHeartbeat(ctx, *res)
		if archived[run.RunID] {
			continue
		}
		history, err := h.history(ctx, run)
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			// Deleted since it was listed (an operator, or a retention shorter than it must
			// be): nothing is left to archive. Counted, so that the workflow says so.
			activity.GetLogger(ctx).Error("A closed workflow was deleted before it was archived",
				"WorkflowID", run.WorkflowID, "RunID", run.RunID, "ClosedAt", run.ClosedAt)
			res.Gone++
			continue
		}
		if err != nil {
			return err
		}
		if _, err := h.archive.Save(ctx, run, history); err != nil {
			return err
		}
		res.Archived++
	}
	return nil
}

// history reads a run's whole history, payloads as the server stores them: the iterator
// applies no data converter, so nothing is decrypted.
func (h *HistoryArchive) history(ctx context.Context, run archive.Run) (*historypb.History, error) {
	out := &historypb.History{}
	it := h.temporal.GetWorkflowHistory(ctx, run.WorkflowID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s run %s: %w", run.WorkflowID, run.RunID, err)
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}
