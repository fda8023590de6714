// Package timeline turns the Temporal histories of payments and refunds into timelines
// people can read: what happened, when, on which attempt, and who caused it.
//
// A history holds everything a workflow did, most of it Temporal's bookkeeping (workflow
// tasks, timers). Finance and support staff want the story: the merchant's requests, each
// call to Stripe and write to Postgres, each status, each operator decision, each event
// published, the outcome. Render picks those events out and says each in one short line.
//
// Histories reads the histories to render: Temporal's while the namespace keeps a workflow,
// the archive's (internal/domain/archive) once its retention has deleted it, decrypted alike and
// failures' messages restored (payloadcodec.DecodeHistory). Payloads are then read with the
// SDK's default data converter, as the workers wrote them before encryption. Rendering never
// fails: an event whose payload cannot be decoded still shows, under its event type, with the
// decoding error as its detail.
package timeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/durapay/durapay/schemas"
)

// Entry is one line of a timeline.
type Entry struct {
	Time     time.Time `json:"time"`
	Workflow string    `json:"workflow"`          // workflow ID the entry comes from
	What     string    `json:"what"`              // short human sentence, e.g. "Stripe: stripe.CreatePaymentIntent succeeded (status succeeded)"
	Attempt  int32     `json:"attempt,omitempty"` // attempt number of an activity / local activity, when known
	Actor    string    `json:"actor,omitempty"`   // who caused it: "operator staff:key_x (alice)", "stripe", "merchant", "timer", "system"
	Detail   string    `json:"detail,omitempty"`  // e.g. error message of a failure, event ID of a Stripe signal, amounts
}

// Actors of entries. An operator's actor is operatorPrefix followed by who decided.
const (
	actorMerchant  = "merchant"
	actorStripe    = "stripe"
	actorTimer     = "timer"
	actorSystem    = "system"
	operatorPrefix = "operator "
)

// Render turns one workflow's history into entries, oldest first, skipping bookkeeping
// (workflow task events, timer cancellations). events is the whole history, from its
// WorkflowExecutionStarted event: the started event says what kind of workflow it is.
func Render(workflowID string, events []*historypb.HistoryEvent) []Entry {
	r := newRenderer(events)
	var out []Entry
	for _, ev := range events {
		if ev == nil {
			continue
		}
		e, ok := r.render(ev)
		if !ok {
			continue
		}
		e.Time = ev.GetEventTime().AsTime()
		e.Workflow = workflowID
		out = append(out, e)
	}
	sortByTime(out)
	return out
}

// Merge merges several workflows' timelines (a payment and its refunds) by time, stable.
func Merge(timelines ...[]Entry) []Entry {
	var out []Entry
	for _, tl := range timelines {
		out = append(out, tl...)
	}
	sortByTime(out)
	return out
}

// sortByTime orders entries by time, keeping the given order among equal times. History order
// is the order the server wrote events in: a signal that arrives while a workflow task runs
// is written after that task's events, but carries the time it arrived. Sorting tells the
// story in the order things happened; stability keeps history order within an instant.
func sortByTime(entries []Entry) {
	slices.SortStableFunc(entries, func(a, b Entry) int { return a.Time.Compare(b.Time) })
}

// renderer holds what a line needs from earlier (or, for the currency, later) events.
type renderer struct {
	workflowType string
	// currency of the payment or refund, for the amounts that events carry without one (a
	// capture request, a refund's input, a Stripe refund).
	currency string
	// status is the PaymentStatus last shown: the workflow upserts its search attributes at
	// every change, often with the status unchanged.
	status     string
	activities map[int64]*activityTask // regular activities, by scheduled event ID
	timers     map[int64]time.Duration // timer durations, by started event ID
	updates    map[int64]string        // update names, by accepted event ID
}

func newRenderer(events []*historypb.HistoryEvent) *renderer {
	r := &renderer{
		activities: map[int64]*activityTask{},
		timers:     map[int64]time.Duration{},
		updates:    map[int64]string{},
	}
	for _, ev := range events {
		a := ev.GetWorkflowExecutionStartedEventAttributes()
		if a == nil {
			continue
		}
		r.workflowType = a.GetWorkflowType().GetName()
		// The status a payment starts in is set with the workflow; only changes are shown.
		if p := a.GetSearchAttributes().GetIndexedFields()[schemas.SearchPaymentStatus.GetName()]; p != nil {
			_ = decodeOne(p, &r.status) // undecodable: the first upsert is then shown even if unchanged
		}
		if r.workflowType == schemas.PaymentWorkflowName {
			var in schemas.PaymentInput
			if decode(a.GetInput(), &in) == nil { // else the started line shows the error
				r.currency = in.Currency.String()
			}
		}
		break
	}
	if r.workflowType == schemas.RefundWorkflowName {
		r.currency = refundCurrency(events)
	}
	return r
}

// render returns the line of one event, or false for an event that tells nothing by itself.
func (r *renderer) render(ev *historypb.HistoryEvent) (Entry, bool) {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
		return r.started(ev), true
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
		return r.updateAccepted(ev), true
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
		return r.updateCompleted(ev)
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
		return r.signaled(ev), true
	case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		return r.searchAttributes(ev)
	case enumspb.EVENT_TYPE_MARKER_RECORDED:
		return r.marker(ev)
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		r.activityScheduled(ev)
		return Entry{}, false
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
		r.activityStarted(ev)
		return Entry{}, false
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
		return r.activityClosed(ev), true
	case enumspb.EVENT_TYPE_TIMER_STARTED:
		return r.timerStarted(ev), true
	case enumspb.EVENT_TYPE_TIMER_FIRED:
		return r.timerFired(ev), true
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		return r.completed(ev), true
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		return closed(ev), true
	}
	// Workflow tasks, timer cancellations, cancel requests and the like: Temporal's bookkeeping.
	return Entry{}, false
}

func (r *renderer) started(ev *historypb.HistoryEvent) Entry {
	a := ev.GetWorkflowExecutionStartedEventAttributes()
	switch name := a.GetWorkflowType().GetName(); name {
	case schemas.PaymentWorkflowName:
		var in schemas.PaymentInput
		if err := decode(a.GetInput(), &in); err != nil {
			return undecodable(ev, "payment input", err)
		}
		return Entry{Actor: actorMerchant,
			What:   fmt.Sprintf("payment started: %s, %s, capture %s", in.Amount.String(), in.PaymentMethod, in.CaptureMethod),
			Detail: fmt.Sprintf("payment %s of merchant %s", in.PaymentID, in.MerchantID)}
	case schemas.RefundWorkflowName:
		var in schemas.RefundInput
		if err := decode(a.GetInput(), &in); err != nil {
			return undecodable(ev, "refund input", err)
		}
		what := "all that remains" // what an Amount of 0 asks for
		if in.Amount != 0 {
			what = amount(in.Amount, r.currency)
		}
		e := Entry{Actor: actorMerchant, What: fmt.Sprintf("refund requested: %s of payment %s", what, in.PaymentID),
			Detail: "refund " + in.RefundID}
		if in.Reason != "" {
			e.Detail += ", reason " + in.Reason
		}
		return e
	case "":
		return Entry{Actor: actorSystem, What: "workflow started"}
	default:
		return Entry{Actor: actorSystem, What: fmt.Sprintf("workflow %s started", name)}
	}
}

func (r *renderer) updateAccepted(ev *historypb.HistoryEvent) Entry {
	a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes()
	in := a.GetAcceptedRequest().GetInput()
	name := in.GetName()
	r.updates[ev.GetEventId()] = name
	switch name {
	case schemas.UpdateCreatePayment, schemas.UpdateCreateRefund:
		// Every retry of the merchant's create request is accepted too; its update ID tells them apart.
		return Entry{Actor: actorMerchant, What: "create request accepted",
			Detail: "update " + a.GetAcceptedRequest().GetMeta().GetUpdateId()}
	case schemas.UpdateCapturePayment:
		var req schemas.CaptureRequest
		if err := decode(in.GetArgs(), &req); err != nil {
			return undecodable(ev, "capture request", err)
		}
		what := "capture requested: all"
		if req.AmountToCapture != 0 {
			what = "capture requested: " + amount(req.AmountToCapture, r.currency)
		}
		return Entry{Actor: actorMerchant, What: what}
	case schemas.UpdateCancelPayment:
		var req schemas.CancelRequest
		if err := decode(in.GetArgs(), &req); err != nil {
			return undecodable(ev, "cancel request", err)
		}
		what := "cancel requested"
		if req.Reason != "" {
			what += ": " + req.Reason
		}
		return Entry{Actor: actorMerchant, What: what}
	case schemas.UpdateOperatorDecision:
		return decision(ev, in.GetArgs())
	default:
		return Entry{What: fmt.Sprintf("update %s accepted", name)}
	}
}

// updateCompleted shows refused updates only: what an accepted one did has lines of its own.
func (r *renderer) updateCompleted(ev *historypb.HistoryEvent) (Entry, bool) {
	a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
	f := a.GetOutcome().GetFailure()
	if f == nil {
		return Entry{}, false
	}
	name, ok := r.updates[a.GetAcceptedEventId()]
	if !ok {
		name = a.GetMeta().GetUpdateId()
	}
	return Entry{Actor: actorSystem, What: fmt.Sprintf("update %s refused: %s", name, f.GetMessage()),
		Detail: f.GetApplicationFailureInfo().GetType()}, true
}

func (r *renderer) signaled(ev *historypb.HistoryEvent) Entry {
	a := ev.GetWorkflowExecutionSignaledEventAttributes()
	switch name := a.GetSignalName(); name {
	case schemas.SignalStripeEvent:
		var s schemas.StripeEventSignal
		if err := decode(a.GetInput(), &s); err != nil {
			return undecodable(ev, "Stripe event", err)
		}
		return Entry{Actor: actorStripe, What: "Stripe event " + s.Type, Detail: s.EventID}
	case schemas.SignalOperatorDecision:
		return decision(ev, a.GetInput())
	default:
		return Entry{What: fmt.Sprintf("signal %s received", name)}
	}
}

// decision is an operator's decision, sent as an update (admin API) or a signal (UI, CLI).
func decision(ev *historypb.HistoryEvent, args *commonpb.Payloads) Entry {
	var d schemas.OperatorDecision
	if err := decode(args, &d); err != nil {
		return undecodable(ev, "operator decision", err)
	}
	return Entry{Actor: strings.TrimSpace(operatorPrefix + d.Operator), What: "operator decided " + d.Action, Detail: d.Reason}
}

// searchAttributes shows the payment's status when it changes: it is what operators filter
// on, and the only place a payment waiting for them (needs_attention) shows as such.
func (r *renderer) searchAttributes(ev *historypb.HistoryEvent) (Entry, bool) {
	a := ev.GetUpsertWorkflowSearchAttributesEventAttributes()
	p, ok := a.GetSearchAttributes().GetIndexedFields()[schemas.SearchPaymentStatus.GetName()]
	if !ok {
		return Entry{}, false
	}
	var status string
	if err := decodeOne(p, &status); err != nil {
		return undecodable(ev, "PaymentStatus", err), true
	}
	if status == r.status {
		return Entry{}, false
	}
	r.status = status
	what := "status → " + status
	if status == schemas.SearchStatusNeedsAttention {
		what += " (waiting for an operator)"
	}
	return Entry{Actor: actorSystem, What: what}, true
}

func (r *renderer) timerStarted(ev *historypb.HistoryEvent) Entry {
	d := ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration()
	r.timers[ev.GetEventId()] = d
	fires := ev.GetEventTime().AsTime().Add(d)
	return Entry{Actor: actorTimer, What: "timer set: " + shortDuration(d), Detail: "fires at " + fires.Format(time.RFC3339)}
}

func (r *renderer) timerFired(ev *historypb.HistoryEvent) Entry {
	e := Entry{Actor: actorTimer, What: "timer fired"}
	if d, ok := r.timers[ev.GetTimerFiredEventAttributes().GetStartedEventId()]; ok {
		e.Detail = "set for " + shortDuration(d)
	}
	return e
}

func (r *renderer) completed(ev *historypb.HistoryEvent) Entry {
	result := ev.GetWorkflowExecutionCompletedEventAttributes().GetResult()
	switch r.workflowType {
	case schemas.PaymentWorkflowName:
		var p schemas.Payment
		if err := decode(result, &p); err != nil {
			return undecodable(ev, "payment", err)
		}
		e := Entry{Actor: actorSystem, What: fmt.Sprintf("payment final: %s, captured %s, refunded %s",
			p.Status, amount(p.AmountCaptured, p.Currency), amount(p.AmountRefunded, p.Currency))}
		switch {
		case p.Failure != nil:
			e.Detail = failureText(p.Failure.Code, p.Failure.DeclineCode, p.Failure.Message)
		case p.CancellationReason != "":
			e.Detail = "cancellation reason " + p.CancellationReason
		}
		return e
	case schemas.RefundWorkflowName:
		var rf schemas.Refund
		if err := decode(result, &rf); err != nil {
			return undecodable(ev, "refund", err)
		}
		e := Entry{Actor: actorSystem}
		switch {
		case rf.Status == "": // refused before it existed; the refused create says why
			e.What = "refund final: refused, nothing refunded"
		case rf.Status == schemas.RefundFailed && rf.FailureReason != "":
			e.What = fmt.Sprintf("refund final: failed (%s)", rf.FailureReason)
		default:
			e.What = fmt.Sprintf("refund final: %s, %s", rf.Status, amount(rf.Amount, rf.Currency))
		}
		if rf.StripeRefundID != "" {
			e.Detail = "Stripe refund " + rf.StripeRefundID
		}
		return e
	default:
		return Entry{Actor: actorSystem, What: "workflow completed"}
	}
}

// closed is the end of a workflow that did not complete.
func closed(ev *historypb.HistoryEvent) Entry {
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		return Entry{Actor: actorSystem, What: "workflow failed", Detail: ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetMessage()}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		return Entry{Actor: actorSystem, What: "workflow timed out"}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		a := ev.GetWorkflowExecutionTerminatedEventAttributes()
		e := Entry{What: "workflow terminated", Detail: a.GetReason()}
		if a.GetIdentity() != "" { // terminations are an operator's act (CLI, UI)
			e.Actor = operatorPrefix + a.GetIdentity()
		}
		return e
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		return Entry{What: "workflow canceled"}
	default: // continued as new
		return Entry{Actor: actorSystem, What: "workflow continued as new",
			Detail: "new run " + ev.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()}
	}
}

// undecodable is the line of an event whose payload could not be read: the event still
// shows, under its type, with the reason.
func undecodable(ev *historypb.HistoryEvent, what string, err error) Entry {
	return Entry{What: eventName(ev.GetEventType()), Detail: fmt.Sprintf("cannot decode %s: %v", what, err)}
}

// eventName is the event type as histories print it (EVENT_TYPE_MARKER_RECORDED); the
// enum's String gives the short form instead.
func eventName(t enumspb.EventType) string {
	if name, ok := enumspb.EventType_name[int32(t)]; ok {
		return name
	}
	return fmt.Sprintf("EVENT_TYPE_%d", int32(t))
}
