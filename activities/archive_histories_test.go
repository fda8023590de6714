package activities_test

import (
	"context"
	"regexp"
	"slices"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/internal/domain/archive"
	"github.com/durapay/durapay/internal/domain/archive/archivetest"
	"github.com/durapay/durapay/internal/domain/cursors"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/schemas"
)

// Each closed payment and refund is archived once, as Temporal stores it; a run lists again
// from its saved position less the overlap, so a workflow that visibility showed late is
// archived by the next run; a history deleted before it could be read is counted, not fatal.
func TestArchiveHistoriesArchivesEachClosedRunOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, env := archivetest.New(t, archive.Lock{Mode: objectstore.LockCompliance, Retain: 61368 * time.Hour})
	keys := archivetest.Keys(t)
	history := func(name string) *historypb.History {
		return archivetest.EncryptedHistory(t, "../workflows/testdata/histories/"+name+".json", keys)
	}
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	temporal := &fakeVisibility{Temporal: archivetest.Temporal{}}
	temporal.close("payment/mer_a/pay_1", "run-p1", schemas.PaymentWorkflowName, t0, history("happy_path"))
	temporal.close("refund/mer_a/rfd_1", "run-r1", schemas.RefundWorkflowName, t0.Add(time.Minute), history("refund_succeeded"))
	temporal.close("payment/mer_a/pay_2", "run-p2", schemas.PaymentWorkflowName, t0.Add(2*time.Minute), nil) // deleted already

	activityEnv := newActivityEnv()
	archiver := activities.NewHistoryArchive(temporal, a, env.Pool)
	activityEnv.RegisterActivityWithOptions(archiver.ArchiveHistories, activity.RegisterOptions{Name: schemas.ArchiveHistoriesName})
	run := func(overlap time.Duration) schemas.HistoryArchiveResult {
		t.Helper()
		v, err := activityEnv.ExecuteActivity(schemas.ArchiveHistoriesName, schemas.HistoryArchiveInput{Overlap: overlap})
		if err != nil {
			t.Fatal(err)
		}
		var res schemas.HistoryArchiveResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	position := func() time.Time {
		t.Helper()
		pos, _, err := cursors.Position(ctx, env.Pool, "history_archive")
		if err != nil {
			t.Fatal(err)
		}
		return pos
	}

	if res := run(10 * time.Minute); res != (schemas.HistoryArchiveResult{Listed: 3, Archived: 2, Gone: 1}) {
		t.Errorf("first run: %+v", res)
	}
	if q := temporal.queries[0]; q != "WorkflowType IN ('PaymentWorkflow', 'RefundWorkflow') AND ExecutionStatus != 'Running'" {
		t.Errorf("the first run lists with %q: want every closed payment and refund", q)
	}
	for _, id := range []string{"payment/mer_a/pay_1", "refund/mer_a/rfd_1"} {
		got, err := a.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, temporal.Temporal[id]) {
			t.Errorf("%s: the archive's history is not Temporal's", id)
		}
	}
	if !position().Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("position %s after the first run", position())
	}

	// Visibility shows a workflow that closed before the position only now; another closes.
	temporal.close("payment/mer_a/pay_3", "run-p3", schemas.PaymentWorkflowName, t0.Add(90*time.Second), history("decline"))
	temporal.close("refund/mer_a/rfd_2", "run-r2", schemas.RefundWorkflowName, t0.Add(5*time.Minute), history("refund_failed"))
	if res := run(10 * time.Minute); res != (schemas.HistoryArchiveResult{Listed: 5, Archived: 2, Gone: 1}) {
		t.Errorf("second run: %+v", res)
	}
	if !position().Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("position %s after the second run", position())
	}
	if res := run(time.Minute); res != (schemas.HistoryArchiveResult{Listed: 1}) {
		t.Errorf("a run with nothing new: %+v (query %s)", res, temporal.queries[len(temporal.queries)-1])
	}
	var rows int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM history_archive`).Scan(&rows); err != nil || rows != 4 {
		t.Errorf("%d runs recorded (%v), want 4", rows, err)
	}
}

// fakeVisibility is Temporal as the archive sees it: closed executions, listed newest first
// two a page, filtered by the query's CloseTime bound; and their histories (nil: deleted).
type fakeVisibility struct {
	archivetest.Temporal
	executions []*workflowpb.WorkflowExecutionInfo
	queries    []string
}

func (f *fakeVisibility) close(workflowID, runID, workflowType string, at time.Time, h *historypb.History) {
	f.executions = append(f.executions, &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID}, Type: &commonpb.WorkflowType{Name: workflowType},
		CloseTime: timestamppb.New(at), Status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED})
	slices.SortFunc(f.executions, func(a, b *workflowpb.WorkflowExecutionInfo) int {
		return b.GetCloseTime().AsTime().Compare(a.GetCloseTime().AsTime())
	})
	if h != nil {
		f.Temporal[workflowID] = h
	}
}

var closeTimeBound = regexp.MustCompile(`CloseTime >= '([^']+)'`)

func (f *fakeVisibility) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	if len(req.NextPageToken) == 0 {
		f.queries = append(f.queries, req.Query)
	}
	var matching []*workflowpb.WorkflowExecutionInfo
	for _, ex := range f.executions {
		if m := closeTimeBound.FindStringSubmatch(req.Query); m != nil {
			bound, err := time.Parse(time.RFC3339Nano, m[1])
			if err != nil {
				return nil, serviceerror.NewInvalidArgument(err.Error())
			}
			if ex.GetCloseTime().AsTime().Before(bound) {
				continue
			}
		}
		matching = append(matching, ex)
	}
	from := 0
	if len(req.NextPageToken) > 0 {
		from = int(req.NextPageToken[0])
	}
	to := min(from+2, len(matching))
	resp := &workflowservice.ListWorkflowExecutionsResponse{Executions: matching[from:to]}
	if to < len(matching) {
		resp.NextPageToken = []byte{byte(to)}
	}
	return resp, nil
}
