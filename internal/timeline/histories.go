package timeline

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/durapay/durapay/internal/archive"
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
	codec    converter.PayloadCodec // nil: payloads are in clear
}

// NewHistories reads from Temporal, then from the archive, decrypting with codec (nil: none).
func NewHistories(temporal HistoryClient, a *archive.Archive, codec converter.PayloadCodec) Histories {
	return Histories{temporal: temporal, archive: a, codec: codec}
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
	if h.codec == nil {
		return events, nil
	}
	// Search attributes are never encrypted.
	err = proxy.VisitPayloads(ctx, &historypb.History{Events: events}, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return h.codec.Decode(p)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("decrypt the history of %s: %w", workflowID, err)
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
