package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/schemas"
)

// A payment's and its refund's histories outlive Temporal's retention: archived to S3 once
// their workflows have closed, they give finance the same timeline after Temporal has
// deleted both workflows.
func TestTimelineOutlivesTemporalRetention(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	ctx := context.Background()
	finance := merchant{}
	var err error
	if finance.Key, _, err = merchants.IssueStaffKey(ctx, e.pool, "e2e archive", time.Hour, merchants.RoleFinance); err != nil {
		t.Fatal(err)
	}
	payment := e.payFor(t, &e.a, "archive-"+t.Name(), 3000, "usd", "pm_card_visa")
	rf := e.call(t, &e.a, "POST", "/v1/refunds", "archive-rf-"+t.Name(), map[string]any{"payment": payment, "amount": 1200})
	if rf.Status != http.StatusCreated || rf.Body["status"] != "succeeded" {
		t.Fatalf("refund: %d %s", rf.Status, rf.Raw)
	}
	workflowIDs := []string{schemas.PaymentWorkflowID(e.a.ID, payment), schemas.RefundWorkflowID(e.a.ID, rf.Body["id"].(string))}
	// The refund's workflow closes once its failure window has passed.
	for _, id := range workflowIDs {
		wctx, cancel := context.WithTimeout(ctx, refundFailureWindow+30*time.Second)
		err := e.temporal.GetWorkflow(wctx, id, "").Get(wctx, nil)
		cancel()
		if err != nil {
			t.Fatalf("workflow %s did not close: %v", id, err)
		}
	}
	timeline := func() response {
		t.Helper()
		r := e.call(t, &finance, "GET", "/v1/finance/payments/"+payment+"/timeline", "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("timeline: %d %s", r.Status, r.Raw)
		}
		return r
	}
	before := timeline()

	// Visibility is eventually consistent: a run may list the refund only a moment after it
	// closed. The next run finds it.
	eventually(t, 60*time.Second, func() error {
		archiveID, _ := e.archiveHistories(t)
		var n int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM history_archive WHERE workflow_id = ANY($1)`, workflowIDs).Scan(&n); err != nil {
			return err
		}
		if n != len(workflowIDs) {
			return fmt.Errorf("%d of %v archived", n, workflowIDs)
		}
		e.recordHistory(t, "history_archive", archiveID)
		return nil
	})
	// A run from the saved position, less the overlap, lists them again (and skips them).
	if _, res := e.archiveHistories(t); res.Listed < len(workflowIDs) {
		t.Errorf("a run from the saved position listed %+v", res)
	}
	for _, id := range workflowIDs {
		e.deleteWorkflow(t, id)
	}

	after := timeline()
	for _, field := range []string{"payment", "entries"} {
		if diff := cmp.Diff(before.Body[field], after.Body[field]); diff != "" {
			t.Errorf("timeline's %s once Temporal has deleted the workflows (-before +after):\n%s", field, diff)
		}
	}
}

// archiveHistories runs the history archive once, as its schedule does, and returns its
// workflow ID and result.
func (e *stackEnv) archiveHistories(t *testing.T) (string, schemas.HistoryArchiveResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := fmt.Sprintf("%s-e2e-%d", schemas.ScheduleHistoryArchive, time.Now().UnixNano())
	run, err := e.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: schemas.TaskQueueFinance},
		schemas.HistoryArchiveWorkflowName, schemas.HistoryArchiveInput{Overlap: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var res schemas.HistoryArchiveResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("history archive: %v", err)
	}
	return id, res
}
