package payloadcodec

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"

	"github.com/durapay/durapay/internal/platform/keyring"
)

// DecodeHistory decrypts, in place, a history read from Temporal, for Durapay's own readers
// (the finance timeline, replay fixtures): every payload, and the message and stack trace of
// every failure (FailureConverter moved them into an encrypted payload). Then it reads as if
// it had been written in clear, with the SDK's default converters.
//
// A payload that is not encrypted fails it (ErrNotEncrypted), as it would fail a worker:
// what someone without the keys put into a history is not told as what Durapay did.
func DecodeHistory(ctx context.Context, k *keyring.Keyring, h *historypb.History) error {
	c := NewCodec(k)
	err := proxy.VisitPayloads(ctx, h, proxy.VisitPayloadsOptions{
		// Search attributes are never encrypted: Temporal indexes them.
		SkipSearchAttributes: true,
		Visitor: func(vpc *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			// Nor are headers: the SDK writes and reads them with its default converter.
			if _, header := vpc.Parent.(*commonpb.Header); header {
				return p, nil
			}
			return c.Decode(p)
		},
	})
	if err != nil {
		return fmt.Errorf("decrypt history: %w", err)
	}
	// The failures' encoded attributes are payloads too, decrypted above.
	err = proxy.VisitFailures(ctx, h, proxy.VisitFailuresOptions{
		Visitor: func(_ *proxy.VisitFailuresContext, f *failurepb.Failure) error {
			converter.DecodeCommonFailureAttributes(converter.GetDefaultDataConverter(), f)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("decode failures of history: %w", err)
	}
	return nil
}
