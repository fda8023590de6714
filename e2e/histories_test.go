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

	"github.com/durapay/durapay/internal/platform/payloadcodec"
)

// historiesDir holds the replay fixtures that workflows/replay_test.go replays.
const historiesDir = "../workflows/testdata/histories"

// recordHistory saves a finished workflow as a replay fixture, when
// DURAPAY_RECORD_HISTORIES=1 (`make histories`), unless a fixture of that name exists:
// committed histories are kept as they were recorded, so that they keep proving that today's
// code replays yesterday's runs. A new behaviour gets a new name.
func (e *stackEnv) recordHistory(t *testing.T, name, workflowID string) {
	t.Helper()
	path := filepath.Join(historiesDir, name+".json")
	if os.Getenv("DURAPAY_RECORD_HISTORIES") != "1" {
		return
	}
	if _, err := os.Stat(path); err == nil {
		t.Logf("history %s exists; kept as recorded", name)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
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
	// Fixtures are kept decrypted: the replayer reads them with the default converters, and
	// the key of this run is gone after it.
	if err := payloadcodec.DecodeHistory(ctx, e.keys, history); err != nil {
		t.Fatal(err)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(history)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(historiesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded the history of %s as %s.json (%d events)", workflowID, name, len(history.Events))
}
