package timeline

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/internal/domain/archive"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/payloadcodec"
)

// HistoryClient reads a workflow's history from Temporal (client.Client does).
type HistoryClient interface {
	GetWorkflowHistory(ctx context.Context, workflowID, runID string, isLongPoll bool, filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
}

// Histories reads the histories timelines are rendered from: Temporal's while the namespace
// keeps the workflow, the archive's once its retention has deleted it. Both hold the
// payloads as the payload codec encrypted them, and are decrypted here the same way, so a
// history renders the same from either.
type Histories struct {
	temporal HistoryClient
	archive  *archive.Archive
	keys     *keyring.Keyring // nil: payloads are in clear (TEMPORAL_ALLOW_CLEAR_PAYLOADS)
}

// NewHistories reads from Temporal, then from the archive, decrypting with keys.
func NewHistories(temporal HistoryClient, a *archive.Archive, keys *keyring.Keyring) Histories {
	return Histories{temporal: temporal, archive: a, keys: keys}
}

// Read returns the history of the workflow's last run, decrypted. It fails with an error
// wrapping archive.ErrNotArchived when neither Temporal nor the archive has the workflow.
func (h Histories) Read(ctx context.Context, workflowID string) ([]*historypb.HistoryEvent, error) {
	events, err := h.fromTemporal(ctx, workflowID)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		var archived *historypb.History
		if archived, err = h.archive.Load(ctx, workflowID); err == nil {
			events = archived.GetEvents()
		}
	}
	if err != nil {
		return nil, err
	}
	if h.keys == nil {
		return events, nil
	}
	if err := payloadcodec.DecodeHistory(ctx, h.keys, &historypb.History{Events: events}); err != nil {
		return nil, fmt.Errorf("history of %s: %w", workflowID, err)
	}
	return events, nil
}

func (h Histories) fromTemporal(ctx context.Context, workflowID string) ([]*historypb.HistoryEvent, error) {
	var events []*historypb.HistoryEvent
	it := h.temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		events = append(events, ev)
	}
	return events, nil
}
