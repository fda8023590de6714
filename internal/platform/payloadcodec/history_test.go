package payloadcodec

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// storedHistory is a workflow's history as Temporal stores it when written with dc and fc: an
// encrypted input, a header and search attributes in clear (the SDK never encodes them),
// and a failure whose cause is an activity's.
func storedHistory(t *testing.T, dc converter.DataConverter, fc converter.FailureConverter) *historypb.History {
	t.Helper()
	input, err := dc.ToPayloads(testPayment)
	require.NoError(t, err)
	header, err := converter.GetDefaultDataConverter().ToPayload("trace-1")
	require.NoError(t, err)
	status, err := converter.GetDefaultDataConverter().ToPayload("succeeded")
	require.NoError(t, err)
	failure := fc.ErrorToFailure(temporal.NewApplicationErrorWithCause("refund failed for "+testPayment.Email, "Refund",
		errors.New("stripe: card closed for "+testPayment.Email)))
	return &historypb.History{Events: []*historypb.HistoryEvent{
		{EventId: 1, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
				Input:            input,
				Header:           &commonpb.Header{Fields: map[string]*commonpb.Payload{"tracing": header}},
				SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{"PaymentStatus": status}},
			}}},
		{EventId: 2, EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
			Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{
				Failure: failure,
			}}},
	}}
}

func TestDecodeHistory(t *testing.T) {
	k := mustKeyring(t, newSpec(t, "A"))
	h := storedHistory(t, DataConverter(k), FailureConverter(k))

	require.NoError(t, DecodeHistory(context.Background(), k, h))
	var got payment
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput(), &got))
	assert.Equal(t, testPayment, got)
	f := h.Events[1].GetWorkflowExecutionFailedEventAttributes().GetFailure()
	assert.Equal(t, "refund failed for "+testPayment.Email, f.GetMessage(), "readers find the message where Temporal puts it")
	assert.Equal(t, "stripe: card closed for "+testPayment.Email, f.GetCause().GetMessage())
	assert.Equal(t, "Refund", f.GetApplicationFailureInfo().GetType())
}

// A history Durapay's readers tell as Durapay's story holds only what Durapay wrote: a
// payload someone put there in clear fails it, as it fails a worker.
func TestDecodeHistoryRefusesClearPayloads(t *testing.T) {
	k := mustKeyring(t, newSpec(t, "A"))
	clear := storedHistory(t, converter.GetDefaultDataConverter(), temporal.GetDefaultFailureConverter())
	require.ErrorIs(t, DecodeHistory(context.Background(), k, clear), ErrNotEncrypted)
}
