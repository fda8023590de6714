package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/durapay/durapay/schemas"
)

// historiesDir holds the replay fixtures that workflows/replay_test.go replays.
const historiesDir = "../workflows/testdata/histories"

// recordHistory saves the finished workflow of merchant a's payment as a replay fixture,
// when DURAPAY_RECORD_HISTORIES=1 (`make histories`). Recording is for a deliberate change
// to workflow code; the committed histories then prove that later code still replays them.
func (e *stackEnv) recordHistory(t *testing.T, name, paymentID string) {
	t.Helper()
	if os.Getenv("DURAPAY_RECORD_HISTORIES") != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	workflowID := schemas.PaymentWorkflowID(e.a.ID, paymentID)
	if err := e.temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil); err != nil {
		t.Fatalf("record %s: the workflow did not finish: %v", name, err)
	}
	history := &historypb.History{}
	it := e.temporal.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		history.Events = append(history.Events, ev)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(history)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(historiesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(historiesDir, name+".json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded the history of %s as %s.json (%d events)", workflowID, name, len(history.Events))
}
