package timeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/internal/domain/archive"
	"github.com/durapay/durapay/internal/domain/archive/archivetest"
	"github.com/durapay/durapay/internal/domain/timeline"
	"github.com/durapay/durapay/schemas"
)

// A workflow Temporal still has is read from Temporal; one its retention has deleted, from
// the archive, decrypted with the same keys: the timeline is the same either way.
func TestHistoriesReadTheArchiveOnceTemporalHasForgotten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := archivetest.New(t, archive.Lock{Retain: time.Hour})
	keys := archivetest.Keys(t)
	paymentID, want := loadHistory(t, "happy_path")
	refundID, _ := loadHistory(t, "refund_succeeded")
	payment := archivetest.EncryptedHistory(t, historiesDir+"/happy_path.json", keys)
	if _, err := a.Save(ctx, archive.Run{WorkflowID: paymentID, RunID: "run-1", WorkflowType: schemas.PaymentWorkflowName,
		ClosedAt: time.Now()}, payment); err != nil {
		t.Fatal(err)
	}
	temporal := archivetest.Temporal{paymentID: payment}
	histories := timeline.NewHistories(temporal, a, keys)

	fromTemporal, err := histories.Read(ctx, paymentID)
	if err != nil {
		t.Fatal(err)
	}
	delete(temporal, paymentID)
	fromArchive, err := histories.Read(ctx, paymentID)
	if err != nil {
		t.Fatal(err)
	}
	wantTimeline := timeline.Render(paymentID, want)
	if diff := cmp.Diff(wantTimeline, timeline.Render(paymentID, fromTemporal)); diff != "" {
		t.Errorf("the timeline from Temporal (-recorded +read):\n%s", diff)
	}
	if diff := cmp.Diff(wantTimeline, timeline.Render(paymentID, fromArchive)); diff != "" {
		t.Errorf("the timeline from the archive (-recorded +read):\n%s", diff)
	}

	if _, err := histories.Read(ctx, refundID); !errors.Is(err, archive.ErrNotArchived) {
		t.Errorf("a workflow neither has: %v", err)
	}
	var unavailable *serviceerror.Unavailable
	if _, err := timeline.NewHistories(unreachable{}, a, keys).Read(ctx, paymentID); !errors.As(err, &unavailable) {
		t.Errorf("Temporal unreachable: %v, want its error, not the archive's answer", err)
	}
}

// unreachable is a Temporal that cannot be reached, and its history iterator.
type unreachable struct{}

func (unreachable) GetWorkflowHistory(context.Context, string, string, bool, enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return unreachable{}
}

func (unreachable) HasNext() bool { return true }

func (unreachable) Next() (*historypb.HistoryEvent, error) {
	return nil, serviceerror.NewUnavailable("connection refused")
}
