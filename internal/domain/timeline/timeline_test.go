package timeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/durapay/durapay/internal/domain/timeline"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/payloadcodec"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// The recorded histories that the workflows' replay test also reads.
const historiesDir = "../../../workflows/testdata/histories"

// Each recorded history renders with its key lines. A want leaves out (zero) what it does not
// check; every history's timeline is also checked for order, completeness and its ends.
func TestRenderRecordedHistories(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want []timeline.Entry
		// inOrder lists Whats that must appear in this order.
		inOrder []string
	}{
		{
			name: "happy_path",
			want: []timeline.Entry{
				{What: "payment started: 20.00 USD, pm_card_visa, capture automatic", Actor: "merchant"},
				{What: "create request accepted", Actor: "merchant"},
				{What: "Stripe: stripe.CreatePaymentIntent succeeded (status succeeded)", Attempt: 1, Actor: "stripe",
					Detail: "PaymentIntent pi_Og8GkjSYLF9HOeArox1bzSf7, received 20.00 USD"},
				{What: "status → succeeded", Actor: "system"},
				{What: "payment recorded in Postgres", Attempt: 1},
				{What: "event payment.succeeded published to Kafka", Attempt: 1, Actor: "system"},
				{What: "payment final: succeeded, captured 20.00 USD, refunded 0.00 USD"},
			},
			inOrder: []string{"create request accepted", "status → succeeded", "event payment.succeeded published to Kafka"},
		},
		{
			name: "decline",
			want: []timeline.Entry{
				{What: "payment started: 15.00 EUR, pm_card_chargeDeclined, capture automatic"},
				{What: "Stripe: stripe.CreatePaymentIntent failed", Attempt: 1, Actor: "stripe",
					Detail: "Stripe 402 card_error card_declined: Your card was declined."},
				{What: "status → failed"},
				{What: "event payment.failed published to Kafka"},
				{What: "payment final: failed, captured 0.00 EUR, refunded 0.00 EUR", Detail: "card_declined (generic_decline): Your card was declined."},
			},
		},
		{
			name: "3ds_success",
			want: []timeline.Entry{
				{What: "Stripe: stripe.CreatePaymentIntent succeeded (status requires_action)", Attempt: 1},
				{What: "status → requires_action"},
				{What: "Stripe event payment_intent.succeeded", Actor: "stripe"},
				{What: "Stripe: stripe.RetrievePaymentIntent succeeded (status succeeded)", Attempt: 1},
				{What: "payment final: succeeded, captured 42.00 USD, refunded 0.00 USD"},
			},
			inOrder: []string{"status → requires_action", "Stripe event payment_intent.succeeded", "status → succeeded"},
		},
		{
			name: "3ds_timeout",
			want: []timeline.Entry{
				{What: "status → requires_action"},
				// The policy's action timeout of 8s.
				{What: "timer set: 8s", Actor: "timer"},
				{What: "timer fired", Actor: "timer", Detail: "set for 8s"},
				{What: "Stripe: stripe.CancelPaymentIntent succeeded (status canceled)", Attempt: 1,
					Detail: "PaymentIntent pi_5FKphoYoywTM4esKAx6ZL0r4, cancellation reason abandoned"},
				{What: "status → failed"},
				{What: "payment final: failed, captured 0.00 USD, refunded 0.00 USD",
					Detail: "payment_intent_authentication_timeout: The customer did not complete authentication within 8s."},
			},
			inOrder: []string{"timer set: 8s", "timer fired", "status → failed"},
		},
		{
			name: "partial_capture",
			want: []timeline.Entry{
				{What: "payment started: 30.00 USD, pm_card_visa, capture manual"},
				{What: "status → requires_capture"},
				// The authorization window, 6 days 20 hours.
				{What: "timer set: 164h0m0s", Actor: "timer"},
				{What: "capture requested: 25.00 USD", Actor: "merchant"},
				{What: "Stripe: stripe.CapturePaymentIntent succeeded (status succeeded)", Detail: "PaymentIntent pi_1AolRCce8UQAcTYczFqSr9cf, received 25.00 USD"},
				{What: "event payment.captured published to Kafka"},
				{What: "payment final: succeeded, captured 25.00 USD, refunded 0.00 USD"},
			},
			inOrder: []string{"status → requires_capture", "capture requested: 25.00 USD", "status → succeeded"},
		},
		{
			name: "manual_capture_canceled",
			want: []timeline.Entry{
				{What: "cancel requested: duplicate", Actor: "merchant"},
				{What: "Stripe: stripe.CancelPaymentIntent succeeded (status canceled)"},
				{What: "status → canceled"},
				{What: "event payment.canceled published to Kafka"},
				{What: "payment final: canceled, captured 0.00 USD, refunded 0.00 USD", Detail: "cancellation reason duplicate"},
			},
		},
		{
			name: "operator_retry",
			want: []timeline.Entry{
				{What: "Stripe: stripe.CreatePaymentIntent failed", Attempt: 1, Actor: "stripe"},
				{What: "status → needs_attention (waiting for an operator)"},
				{What: "operator decided retry", Actor: "operator staff:key_2LT70axpy0AjgtdOyIzj (e2e operator)", Detail: "Stripe incident 42 resolved"},
				{What: "Stripe: stripe.FindPaymentIntent succeeded (none found)", Attempt: 1},
				{What: "Stripe: stripe.CreatePaymentIntent succeeded (status succeeded)", Attempt: 1},
				{What: "payment final: succeeded, captured 66.00 USD, refunded 0.00 USD"},
			},
			inOrder: []string{"Stripe: stripe.CreatePaymentIntent failed", "status → needs_attention (waiting for an operator)",
				"operator decided retry", "status → processing", "Stripe: stripe.CreatePaymentIntent succeeded (status succeeded)", "status → succeeded"},
		},
		{
			name: "refund_succeeded",
			want: []timeline.Entry{
				{What: "refund requested: 12.00 USD of payment pay_brjwq5yvftkt4nljjhusy3xt", Actor: "merchant",
					Detail: "refund rfd_jffz5m4yxbtmcbyq3rryr7fs, reason requested_by_customer"},
				{What: "create request accepted", Actor: "merchant"},
				{What: "refund reserved in Postgres: 12.00 USD", Attempt: 1, Actor: "system"},
				{What: "Stripe: stripe.CreateRefund succeeded (refund succeeded)", Attempt: 1, Actor: "stripe", Detail: "refund re_u04EaBYGwB2pWEpWK6EF3DHe, 12.00 USD"},
				{What: "refund recorded in Postgres (status succeeded)"},
				{What: "event refund.succeeded published to Kafka"},
				{What: "refund final: succeeded, 12.00 USD", Detail: "Stripe refund re_u04EaBYGwB2pWEpWK6EF3DHe"},
			},
		},
		{
			name: "refund_failed",
			want: []timeline.Entry{
				{What: "refund requested: 10.00 USD of payment pay_leae45tl46vomhejsrsfbl63"},
				{What: "Stripe event refund.updated", Actor: "stripe", Detail: "evt_PHpjDZvFrxpLuBK5J4YJ5Y8Q"},
				{What: "Stripe: stripe.RetrieveRefund succeeded (refund failed: expired_or_canceled_card)"},
				{What: "refund recorded in Postgres (status failed)"},
				{What: "event refund.failed published to Kafka"},
			},
			inOrder: []string{"event refund.succeeded published to Kafka", "Stripe event refund.updated", "event refund.failed published to Kafka"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			workflowID, events := loadHistory(t, tt.name)
			entries := timeline.Render(workflowID, events)
			checkTimeline(t, workflowID, entries)
			for _, want := range tt.want {
				if _, ok := find(entries, want); !ok {
					t.Errorf("no entry %+v in\n%s", want, dump(entries))
				}
			}
			last := -1
			for _, what := range tt.inOrder {
				i, ok := find(entries, timeline.Entry{What: what})
				if !ok || i < last {
					t.Errorf("%q not found after the entries before it in the list %q:\n%s", what, tt.inOrder, dump(entries))
				}
				last = i
			}
		})
	}
}

// The last line of a refund that Stripe failed says so.
func TestRenderRefundFailedEndsWithItsOutcome(t *testing.T) {
	t.Parallel()
	workflowID, events := loadHistory(t, "refund_failed")
	entries := timeline.Render(workflowID, events)
	last := entries[len(entries)-1]
	if want := "refund final: failed (expired_or_canceled_card)"; last.What != want {
		t.Errorf("last entry %+v, want What %q", last, want)
	}
}

// checkTimeline holds for every timeline: sorted by time, every line said, the workflow named,
// opened by the merchant's request and closed by the outcome.
func checkTimeline(t *testing.T, workflowID string, entries []timeline.Entry) {
	t.Helper()
	if len(entries) < 2 {
		t.Fatalf("%d entries:\n%s", len(entries), dump(entries))
	}
	if !slices.IsSortedFunc(entries, func(a, b timeline.Entry) int { return a.Time.Compare(b.Time) }) {
		t.Errorf("entries not sorted by time:\n%s", dump(entries))
	}
	for _, e := range entries {
		if e.What == "" || e.Workflow != workflowID || e.Time.IsZero() {
			t.Errorf("entry %+v: want a What, workflow %s and a time", e, workflowID)
		}
		if strings.HasPrefix(e.What, "EVENT_TYPE_") {
			t.Errorf("recorded event rendered generically: %+v", e)
		}
	}
	first, last := entries[0].What, entries[len(entries)-1].What
	if !strings.HasPrefix(first, "payment started: ") && !strings.HasPrefix(first, "refund requested: ") {
		t.Errorf("first entry %q, want the start", first)
	}
	if !strings.HasPrefix(last, "payment final: ") && !strings.HasPrefix(last, "refund final: ") {
		t.Errorf("last entry %q, want the outcome", last)
	}
}

// Each local activity's result renders with its facts, from the activities' own types and
// names: the timeline's copies of them (kept to not link Stripe's and Kafka's clients) cannot
// drift unnoticed.
func TestRenderLocalActivities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		activity string
		result   any // nil: none, as for store.RecordPayment
		what     string
		detail   string
		actor    string
	}{
		{schemas.CreatePaymentIntentName, schemas.PaymentIntent{ID: "pi_1", Status: "requires_payment_method",
			LastPaymentError: &schemas.StripeFailure{Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}},
			"Stripe: stripe.CreatePaymentIntent succeeded (status requires_payment_method)",
			"PaymentIntent pi_1, last payment error card_declined (insufficient_funds): Your card has insufficient funds.", "stripe"},
		{schemas.CapturePaymentIntentName, schemas.PaymentIntent{ID: "pi_1", Status: "succeeded", AmountReceived: 1500},
			"Stripe: stripe.CapturePaymentIntent succeeded (status succeeded)", "PaymentIntent pi_1, received 15.00 USD", "stripe"},
		{schemas.CancelPaymentIntentName, schemas.PaymentIntent{ID: "pi_1", Status: "canceled", CancellationReason: "abandoned"},
			"Stripe: stripe.CancelPaymentIntent succeeded (status canceled)", "PaymentIntent pi_1, cancellation reason abandoned", "stripe"},
		{schemas.RetrievePaymentIntentName, schemas.PaymentIntent{ID: "pi_1", Status: "requires_capture", AmountCapturable: 2000},
			"Stripe: stripe.RetrievePaymentIntent succeeded (status requires_capture)", "PaymentIntent pi_1, capturable 20.00 USD", "stripe"},
		{schemas.FindPaymentIntentName, schemas.PaymentIntent{},
			"Stripe: stripe.FindPaymentIntent succeeded (none found)", "", "stripe"},
		{schemas.CreateRefundName, schemas.StripeRefund{ID: "re_1", Status: "pending", Amount: 700},
			"Stripe: stripe.CreateRefund succeeded (refund pending)", "refund re_1, 7.00 USD", "stripe"},
		{schemas.RetrieveRefundName, schemas.StripeRefund{ID: "re_1", Status: "failed", Amount: 700, FailureReason: "lost_or_stolen_card"},
			"Stripe: stripe.RetrieveRefund succeeded (refund failed: lost_or_stolen_card)", "refund re_1, 7.00 USD", "stripe"},
		{schemas.FindRefundName, schemas.StripeRefund{},
			"Stripe: stripe.FindRefund succeeded (none found)", "", "stripe"},
		{schemas.RecordPaymentName, nil, "payment recorded in Postgres", "store.RecordPayment", "system"},
		{schemas.RecordRefundName, schemas.Refund{Status: schemas.RefundSucceeded},
			"refund recorded in Postgres (status succeeded)", "store.RecordRefund", "system"},
		{schemas.ReserveRefundName, schemas.ReservedRefund{Refund: schemas.Refund{Amount: 700, Currency: "usd"}},
			"refund reserved in Postgres: 7.00 USD", "store.ReserveRefund", "system"},
	}
	for _, tt := range tests {
		t.Run(tt.activity, func(t *testing.T) {
			t.Parallel()
			h := newHistory()
			h.startPayment(t, schemas.PaymentInput{PaymentID: "pay_1", Amount: money.Amount{Minor: 2000, Currency: "usd"}, PaymentMethod: "pm_card_visa", CaptureMethod: schemas.CaptureManual})
			h.localActivity(t, tt.activity, 2, 0, tt.result, nil)
			got := h.render()
			want := timeline.Entry{What: tt.what, Detail: tt.detail, Attempt: 2, Actor: tt.actor}
			if e := got[len(got)-1]; e.What != want.What || e.Detail != want.Detail || e.Attempt != want.Attempt || e.Actor != want.Actor {
				t.Errorf("got %+v\nwant %+v", e, want)
			}
		})
	}
}

// A refund's input carries no currency: its amounts show in the currency the refund was
// reserved in.
func TestRenderRefundShowsAmountsInItsPaymentsCurrency(t *testing.T) {
	t.Parallel()
	h := newHistory()
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: schemas.RefundWorkflowName},
			Input:        payloadsOf(t, schemas.RefundInput{RefundID: "rfd_1", PaymentID: "pay_1", Amount: 500}),
		}}})
	h.localActivity(t, schemas.ReserveRefundName, 1, 0, schemas.ReservedRefund{Refund: schemas.Refund{Amount: 500, Currency: "jpy"}}, nil)
	h.localActivity(t, schemas.CreateRefundName, 1, 0, schemas.StripeRefund{ID: "re_1", Status: "succeeded", Amount: 500}, nil)
	entries := h.render()
	for _, want := range []timeline.Entry{
		{What: "refund requested: 500 JPY of payment pay_1", Detail: "refund rfd_1"},
		{What: "refund reserved in Postgres: 500 JPY"},
		{What: "Stripe: stripe.CreateRefund succeeded (refund succeeded)", Detail: "refund re_1, 500 JPY"},
	} {
		if _, ok := find(entries, want); !ok {
			t.Errorf("no entry %+v in\n%s", want, dump(entries))
		}
	}

	h = newHistory()
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: schemas.RefundWorkflowName},
			Input:        payloadsOf(t, schemas.RefundInput{RefundID: "rfd_2", PaymentID: "pay_1"}),
		}}})
	// Refused before it existed: the workflow completes with an empty refund.
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, Attributes: &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{
		WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{Result: payloadsOf(t, schemas.Refund{})}}})
	entries = h.render()
	for _, want := range []timeline.Entry{
		{What: "refund requested: all that remains of payment pay_1"},
		{What: "refund final: refused, nothing refunded"},
	} {
		if _, ok := find(entries, want); !ok {
			t.Errorf("no entry %+v in\n%s", want, dump(entries))
		}
	}
}

// What recorded histories do not show: failures, refusals, signals sent by operators, retried
// local activities, workflows that end badly, and the events a timeline leaves out.
func TestRenderFailuresAndDecisions(t *testing.T) {
	t.Parallel()
	h := newHistory()
	h.startPayment(t, schemas.PaymentInput{PaymentID: "pay_1", Amount: money.Amount{Minor: 2000, Currency: "usd"}, PaymentMethod: "pm_card_visa", CaptureMethod: schemas.CaptureManual})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, Attributes: &historypb.HistoryEvent_WorkflowTaskScheduledEventAttributes{
		WorkflowTaskScheduledEventAttributes: &historypb.WorkflowTaskScheduledEventAttributes{}}})
	h.localActivity(t, schemas.CapturePaymentIntentName, 7, time.Minute, nil, &failurepb.Failure{Message: "Stripe unreachable: EOF"})
	accepted := h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, Attributes: &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{
		WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
			AcceptedRequest: &updatepb.Request{Input: &updatepb.Input{Name: schemas.UpdateCapturePayment, Args: payloadsOf(t, schemas.CaptureRequest{})}},
		}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, Attributes: &historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes{
		WorkflowExecutionUpdateCompletedEventAttributes: &historypb.WorkflowExecutionUpdateCompletedEventAttributes{
			AcceptedEventId: accepted,
			Outcome: &updatepb.Outcome{Value: &updatepb.Outcome_Failure{Failure: &failurepb.Failure{
				Message: "This payment's status is canceled; it cannot be captured.",
				FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
					Type: schemas.ErrTypePaymentUnexpectedState}},
			}}},
		}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, Attributes: &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{
		WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{
			SignalName: schemas.SignalOperatorDecision,
			Input:      payloadsOf(t, schemas.OperatorDecision{Action: schemas.DecisionCancel, Operator: "staff:key_1 (bob)", Reason: "customer asked"}),
		}}})
	scheduled := h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
		ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: schemas.PublishEventName},
			Input: payloadsOf(t, schemas.PublishEventRequest{Topic: schemas.TopicPayments, Key: "pay_1",
				Event: schemas.Event{ID: "evt_1", Type: schemas.EventPaymentCanceled}}),
		}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, Attributes: &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{
		ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{ScheduledEventId: scheduled, Attempt: 4}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, Attributes: &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{
		ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{ScheduledEventId: scheduled,
			Failure: &failurepb.Failure{Message: "kafka: leader not available"}}}})
	timer := h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_TIMER_STARTED, Attributes: &historypb.HistoryEvent_TimerStartedEventAttributes{
		TimerStartedEventAttributes: &historypb.TimerStartedEventAttributes{StartToFireTimeout: durationpb.New(time.Hour)}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_TIMER_CANCELED, Attributes: &historypb.HistoryEvent_TimerCanceledEventAttributes{
		TimerCanceledEventAttributes: &historypb.TimerCanceledEventAttributes{StartedEventId: timer}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{
		WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{
			Failure: &failurepb.Failure{Message: "record payment version 3: connection refused"}}}})

	entries := h.render()
	wants := []timeline.Entry{
		{What: "Stripe: stripe.CapturePaymentIntent failed", Attempt: 7, Actor: "stripe", Detail: "Stripe unreachable: EOF; retried in 1m0s"},
		{What: "capture requested: all", Actor: "merchant"},
		{What: "update CapturePayment refused: This payment's status is canceled; it cannot be captured.", Detail: schemas.ErrTypePaymentUnexpectedState},
		{What: "operator decided cancel", Actor: "operator staff:key_1 (bob)", Detail: "customer asked"},
		{What: "publishing event payment.canceled to Kafka failed", Attempt: 4, Actor: "system", Detail: "kafka: leader not available"},
		{What: "timer set: 1h0m0s", Actor: "timer"},
		{What: "workflow failed", Detail: "record payment version 3: connection refused"},
	}
	for _, want := range wants {
		if _, ok := find(entries, want); !ok {
			t.Errorf("no entry %+v in\n%s", want, dump(entries))
		}
	}
	// The started payment, and the wants: the workflow task and the canceled timer are left out.
	if len(entries) != 1+len(wants) {
		t.Errorf("%d entries, want %d:\n%s", len(entries), 1+len(wants), dump(entries))
	}
}

// Temporal holds Durapay's histories encrypted, failures' messages inside encrypted payloads.
// Decoded as frontend-api decodes them (payloadcodec.DecodeHistory), they tell the same story:
// the input, and the failures' messages.
func TestRenderEncryptedHistory(t *testing.T) {
	t.Parallel()
	spec, err := keyring.GenerateKey("k")
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	// What the SDK writes with payloadcodec's converters: the failure converter moves messages
	// into a payload, then every payload goes through the codec.
	fc := temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{EncodeCommonAttributes: true})
	h := newHistory()
	h.startPayment(t, schemas.PaymentInput{PaymentID: "pay_1", Amount: money.Amount{Minor: 2000, Currency: "usd"}, PaymentMethod: "pm_card_visa", CaptureMethod: schemas.CaptureAutomatic})
	h.localActivity(t, schemas.CapturePaymentIntentName, 7, time.Minute, nil, fc.ErrorToFailure(errors.New("Stripe unreachable: EOF")))
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, Attributes: &historypb.HistoryEvent_WorkflowExecutionFailedEventAttributes{
		WorkflowExecutionFailedEventAttributes: &historypb.WorkflowExecutionFailedEventAttributes{
			Failure: fc.ErrorToFailure(errors.New("record payment version 3: connection refused"))}}})
	stored := &historypb.History{Events: h.events}
	codec := payloadcodec.NewCodec(k)
	if err := proxy.VisitPayloads(context.Background(), stored, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return codec.Encode(p)
		},
	}); err != nil {
		t.Fatal(err)
	}

	if err := payloadcodec.DecodeHistory(context.Background(), k, stored); err != nil {
		t.Fatal(err)
	}
	entries := h.render()
	for _, want := range []timeline.Entry{
		{What: "payment started: 20.00 USD, pm_card_visa, capture automatic", Actor: "merchant"},
		{What: "Stripe: stripe.CapturePaymentIntent failed", Attempt: 7, Actor: "stripe", Detail: "Stripe unreachable: EOF; retried in 1m0s"},
		{What: "workflow failed", Detail: "record payment version 3: connection refused"},
	} {
		if _, ok := find(entries, want); !ok {
			t.Errorf("no entry %+v in\n%s", want, dump(entries))
		}
	}
}

// Payloads of the wrong shape, events without attributes, nil events: the timeline still
// shows every event it would have shown, under its type, with the reason.
func TestRenderSurvivesUnexpectedEvents(t *testing.T) {
	t.Parallel()
	garbage := &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"Amount": "lots"`)}}}

	h := newHistory()
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: schemas.PaymentWorkflowName}, Input: garbage}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, Attributes: &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{
		WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
			AcceptedRequest: &updatepb.Request{Input: &updatepb.Input{Name: schemas.UpdateCapturePayment, Args: garbage}}}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, Attributes: &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{
		WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{SignalName: schemas.SignalStripeEvent}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, Attributes: &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{
		UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
				schemas.SearchPaymentStatus.GetName(): garbage.Payloads[0]}}}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_MARKER_RECORDED, Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{
		MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
			MarkerName: "LocalActivity", Details: map[string]*commonpb.Payloads{"data": garbage}}}})
	scheduled := h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, Attributes: &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{
		ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: schemas.PublishEventName}, Input: garbage}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{
		ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: scheduled}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, Attributes: &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{
		ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{ScheduledEventId: 999}}})
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, Attributes: &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{
		WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{Result: garbage}}})

	entries := h.render()
	if want := len(h.events) - 1; len(entries) != want { // an activity shows once it ends
		t.Errorf("%d entries, want %d:\n%s", len(entries), want, dump(entries))
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.What, "EVENT_TYPE_") || e.Detail == "" {
			t.Errorf("entry %+v, want the event type and why it could not be read", e)
		}
	}

	// Every event type, without attributes, among nil events.
	events := []*historypb.HistoryEvent{nil}
	for v := range enumspb.EventType_name {
		events = append(events, &historypb.HistoryEvent{EventId: int64(v), EventType: enumspb.EventType(v)}, nil)
	}
	for _, e := range timeline.Render("wf", events) {
		if e.What == "" {
			t.Errorf("entry without What: %+v", e)
		}
	}
	if got := timeline.Render("wf", nil); len(got) != 0 {
		t.Errorf("Render of no events = %v", got)
	}
}

// Merge interleaves timelines by time; entries of the same instant keep the order given.
func TestMerge(t *testing.T) {
	t.Parallel()
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	payment := []timeline.Entry{
		{Time: at(1), Workflow: "payment", What: "payment started"},
		{Time: at(3), Workflow: "payment", What: "status → succeeded"},
		{Time: at(5), Workflow: "payment", What: "payment final"},
	}
	refund := []timeline.Entry{
		{Time: at(2), Workflow: "refund", What: "refund requested"},
		{Time: at(5), Workflow: "refund", What: "refund reserved"},
		{Time: at(6), Workflow: "refund", What: "refund final"},
	}
	got := timeline.Merge(payment, refund)
	var whats []string
	for _, e := range got {
		whats = append(whats, e.What)
	}
	want := []string{"payment started", "refund requested", "status → succeeded", "payment final", "refund reserved", "refund final"}
	if !slices.Equal(whats, want) {
		t.Errorf("Merge = %q, want %q", whats, want)
	}
	if payment[2].What != "payment final" || refund[0].What != "refund requested" {
		t.Error("Merge changed its inputs")
	}

	// A recorded payment and refund: all lines of both, in time order.
	pid, pevents := loadHistory(t, "happy_path")
	rid, revents := loadHistory(t, "refund_succeeded")
	p, r := timeline.Render(pid, pevents), timeline.Render(rid, revents)
	merged := timeline.Merge(r, p)
	if len(merged) != len(p)+len(r) {
		t.Errorf("merged %d entries of %d and %d", len(merged), len(p), len(r))
	}
	if !slices.IsSortedFunc(merged, func(a, b timeline.Entry) int { return a.Time.Compare(b.Time) }) {
		t.Errorf("merged timeline not sorted:\n%s", dump(merged))
	}
}

// Entries are served as JSON; the optional fields stay out when unknown.
func TestEntryJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(timeline.Entry{Time: t0, Workflow: "wf", What: "timer fired"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"time":"2026-11-30T12:00:00Z","workflow":"wf","what":"timer fired"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}

// loadHistory reads a recorded history as `temporal workflow show --output json` wrote it.
func loadHistory(t *testing.T, name string) (workflowID string, events []*historypb.HistoryEvent) {
	t.Helper()
	f, err := os.Open(filepath.Join(historiesDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowId(), h.Events
}

// find returns the index of the first entry with want's What and, where want sets them, its
// Actor, Attempt and Detail.
// find matches entries with IDs made anonymous (recorded histories are recorded again after
// a deliberate change to workflow code, with new IDs).
func find(entries []timeline.Entry, want timeline.Entry) (int, bool) {
	for i, e := range entries {
		if anonymous(e.What) == anonymous(want.What) && (want.Actor == "" || anonymous(e.Actor) == anonymous(want.Actor)) &&
			(want.Attempt == 0 || e.Attempt == want.Attempt) && (want.Detail == "" || anonymous(e.Detail) == anonymous(want.Detail)) {
			return i, true
		}
	}
	return -1, false
}

var objectID = regexp.MustCompile(`\b(pi|evt|pay|rfd|re|ch|key|mer)_[A-Za-z0-9]+`)

func anonymous(s string) string { return objectID.ReplaceAllString(s, "${1}_…") }

func dump(entries []timeline.Entry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Time.Format("15:04:05.000000") + " | " + e.Actor + " | " + e.What + " | " + e.Detail + "\n")
	}
	return b.String()
}

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// history builds a synthetic history, one event a second from t0.
type history struct {
	events []*historypb.HistoryEvent
}

func newHistory() *history { return &history{} }

// add appends an event, numbered and timed, and returns its ID.
func (h *history) add(ev *historypb.HistoryEvent) int64 {
	ev.EventId = int64(len(h.events) + 1)
	ev.EventTime = timestamppb.New(t0.Add(time.Duration(ev.EventId) * time.Second))
	h.events = append(h.events, ev)
	return ev.EventId
}

func (h *history) startPayment(t *testing.T, in schemas.PaymentInput) {
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: schemas.PaymentWorkflowName}, Input: payloadsOf(t, in)}}})
}

// localActivity records a local activity's marker as the SDK writes it: result for a success
// (nil when it returns none), failure for a failure.
func (h *history) localActivity(t *testing.T, activityType string, attempt int32, backoff time.Duration, result any, failure *failurepb.Failure) {
	data := map[string]any{"ActivityID": "1", "ActivityType": activityType, "ReplayTime": t0, "Attempt": attempt, "Backoff": backoff}
	details := map[string]*commonpb.Payloads{"data": payloadsOf(t, data)}
	if result != nil {
		details["result"] = payloadsOf(t, result)
	}
	h.add(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_MARKER_RECORDED, Attributes: &historypb.HistoryEvent_MarkerRecordedEventAttributes{
		MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{MarkerName: "LocalActivity", Details: details, Failure: failure}}})
}

func (h *history) render() []timeline.Entry { return timeline.Render("wf", h.events) }

func payloadsOf(t *testing.T, v any) *commonpb.Payloads {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayloads(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
