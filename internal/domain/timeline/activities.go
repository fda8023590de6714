package timeline

import (
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/durapay/durapay/schemas"
)

// The SDK records each local activity's outcome in a marker named "LocalActivity": its
// "data" detail says which activity and attempt, "result" holds the result of a success,
// and the marker's failure the error of a failure.
const (
	localActivityMarkerName = "LocalActivity"
	markerDataKey           = "data"
	markerResultKey         = "result"
)

// localActivityMarker is the marker's "data" detail, as the SDK writes it.
type localActivityMarker struct {
	ActivityType string
	Attempt      int32
	// Backoff is set on a failure the SDK retries later, after a workflow timer.
	Backoff time.Duration
}

// marker shows a local activity: every Stripe call and Postgres write runs as one.
func (r *renderer) marker(ev *historypb.HistoryEvent) (Entry, bool) {
	a := ev.GetMarkerRecordedEventAttributes()
	if a.GetMarkerName() != localActivityMarkerName {
		return Entry{}, false // version and side-effect markers are the SDK's bookkeeping
	}
	var m localActivityMarker
	if err := decode(a.GetDetails()[markerDataKey], &m); err != nil {
		return undecodable(ev, "local activity marker", err), true
	}
	e := Entry{Attempt: m.Attempt, Actor: actorSystem}
	if strings.HasPrefix(m.ActivityType, "stripe.") {
		e.Actor = actorStripe
	}
	if f := a.GetFailure(); f != nil {
		e.What = label(m.ActivityType) + " failed"
		e.Detail = f.GetMessage()
		if m.Backoff > 0 {
			e.Detail += "; retried in " + shortDuration(m.Backoff)
		}
		return e, true
	}
	e.What, e.Detail = r.localResult(m.ActivityType, a.GetDetails()[markerResultKey])
	return e, true
}

// label names an activity with the system it talks to.
func label(activityType string) string {
	switch {
	case strings.HasPrefix(activityType, "stripe."):
		return "Stripe: " + activityType
	case strings.HasPrefix(activityType, "store."):
		return "Postgres: " + activityType
	default:
		return activityType
	}
}

// localResult says what a local activity that succeeded found or did.
func (r *renderer) localResult(activityType string, result *commonpb.Payloads) (what, detail string) {
	succeeded := label(activityType) + " succeeded"
	cannot := func(err error) (string, string) { return succeeded, "cannot decode result: " + err.Error() }
	switch activityType {
	case schemas.CreatePaymentIntentName, schemas.CapturePaymentIntentName, schemas.CancelPaymentIntentName, schemas.RetrievePaymentIntentName, schemas.FindPaymentIntentName:
		var pi schemas.PaymentIntent
		if err := decode(result, &pi); err != nil {
			return cannot(err)
		}
		if pi.ID == "" {
			return succeeded + " (none found)", ""
		}
		return fmt.Sprintf("%s (status %s)", succeeded, pi.Status), r.paymentIntentDetail(pi)
	case schemas.CreateRefundName, schemas.RetrieveRefundName, schemas.FindRefundName:
		var re schemas.StripeRefund
		if err := decode(result, &re); err != nil {
			return cannot(err)
		}
		if re.ID == "" {
			return succeeded + " (none found)", ""
		}
		status := string(re.Status)
		if re.FailureReason != "" {
			status += ": " + re.FailureReason
		}
		return fmt.Sprintf("%s (refund %s)", succeeded, status), fmt.Sprintf("refund %s, %s", re.ID, amount(re.Amount, r.currency))
	case schemas.RecordPaymentName:
		return "payment recorded in Postgres", activityType
	case schemas.RecordRefundName:
		var rf schemas.Refund
		if err := decode(result, &rf); err != nil {
			return cannot(err)
		}
		return fmt.Sprintf("refund recorded in Postgres (status %s)", rf.Status), activityType
	case schemas.ReserveRefundName:
		var rr schemas.ReservedRefund
		if err := decode(result, &rr); err != nil {
			return cannot(err)
		}
		return "refund reserved in Postgres: " + amount(rr.Refund.Amount, rr.Refund.Currency), activityType
	default:
		return succeeded, ""
	}
}

func (r *renderer) paymentIntentDetail(pi schemas.PaymentIntent) string {
	parts := []string{"PaymentIntent " + pi.ID}
	if pi.AmountCapturable != 0 {
		parts = append(parts, "capturable "+amount(pi.AmountCapturable, r.currency))
	}
	if pi.AmountReceived != 0 {
		parts = append(parts, "received "+amount(pi.AmountReceived, r.currency))
	}
	if pi.CancellationReason != "" {
		parts = append(parts, "cancellation reason "+pi.CancellationReason)
	}
	if f := pi.LastPaymentError; f != nil {
		parts = append(parts, "last payment error "+failureText(f.Code, f.DeclineCode, f.Message))
	}
	return strings.Join(parts, ", ")
}

// activityTask is a regular activity between its scheduling and its end. The only regular
// activities of payments and refunds are Kafka publishes, run after the client has its answer.
type activityTask struct {
	name string
	// event is the type and ID of the event a publish carries, or why they are unknown.
	eventType, eventID string
	decodeErr          error
	attempt            int32
}

func (r *renderer) activityScheduled(ev *historypb.HistoryEvent) {
	a := ev.GetActivityTaskScheduledEventAttributes()
	t := &activityTask{name: a.GetActivityType().GetName()}
	if t.name == schemas.PublishEventName {
		var req schemas.PublishEventRequest
		t.decodeErr = decode(a.GetInput(), &req)
		t.eventType, t.eventID = req.Event.Type, req.Event.ID
	}
	r.activities[ev.GetEventId()] = t
}

// activityStarted notes the attempt: the server writes an activity's started event, with its
// last attempt, only once the activity ends.
func (r *renderer) activityStarted(ev *historypb.HistoryEvent) {
	a := ev.GetActivityTaskStartedEventAttributes()
	if t, ok := r.activities[a.GetScheduledEventId()]; ok {
		t.attempt = a.GetAttempt()
	}
}

func (r *renderer) activityClosed(ev *historypb.HistoryEvent) Entry {
	var scheduledID int64
	var failure *failurepb.Failure
	outcome := "" // completed
	switch {
	case ev.GetActivityTaskCompletedEventAttributes() != nil:
		scheduledID = ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
	case ev.GetActivityTaskFailedEventAttributes() != nil:
		a := ev.GetActivityTaskFailedEventAttributes()
		scheduledID, failure, outcome = a.GetScheduledEventId(), a.GetFailure(), "failed"
	case ev.GetActivityTaskTimedOutEventAttributes() != nil:
		a := ev.GetActivityTaskTimedOutEventAttributes()
		scheduledID, failure, outcome = a.GetScheduledEventId(), a.GetFailure(), "timed out"
	case ev.GetActivityTaskCanceledEventAttributes() != nil:
		scheduledID, outcome = ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId(), "canceled"
	}
	t, ok := r.activities[scheduledID]
	if !ok {
		return Entry{What: eventName(ev.GetEventType()), Detail: fmt.Sprintf("no scheduled activity %d in the history", scheduledID)}
	}
	if t.decodeErr != nil {
		return undecodable(ev, "event to publish", t.decodeErr)
	}
	e := Entry{Actor: actorSystem, Attempt: t.attempt, Detail: failure.GetMessage()}
	switch {
	case t.name == schemas.PublishEventName && outcome == "":
		e.What, e.Detail = fmt.Sprintf("event %s published to Kafka", t.eventType), t.eventID
	case t.name == schemas.PublishEventName:
		e.What = fmt.Sprintf("publishing event %s to Kafka %s", t.eventType, outcome)
	case outcome == "":
		e.What = fmt.Sprintf("activity %s completed", t.name)
	default:
		e.What = fmt.Sprintf("activity %s %s", t.name, outcome)
	}
	return e
}

// refundCurrency finds a refund's currency, which its input leaves out (a refund is in its
// payment's currency): the refund as Postgres reserved or recorded it carries it. It is a
// hint for showing amounts; the lines of events it cannot decode show their own errors.
func refundCurrency(events []*historypb.HistoryEvent) string {
	for _, ev := range events {
		var rf schemas.Refund
		if a := ev.GetWorkflowExecutionCompletedEventAttributes(); a != nil {
			_ = decode(a.GetResult(), &rf)
		}
		if a := ev.GetMarkerRecordedEventAttributes(); a.GetMarkerName() == localActivityMarkerName {
			var m localActivityMarker
			_ = decode(a.GetDetails()[markerDataKey], &m)
			switch m.ActivityType {
			case schemas.ReserveRefundName:
				var rr schemas.ReservedRefund
				_ = decode(a.GetDetails()[markerResultKey], &rr)
				rf = rr.Refund
			case schemas.RecordRefundName:
				_ = decode(a.GetDetails()[markerResultKey], &rf)
			}
		}
		if rf.Currency != "" {
			return rf.Currency
		}
	}
	return ""
}
