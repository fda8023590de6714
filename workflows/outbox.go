package workflows

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
)

// outbox holds a workflow's events until Kafka has them. A change is recorded in Postgres
// first and its events queued here; they are published after, in order, at least once:
// their IDs are deterministic and consumers dedupe on them.
type outbox struct {
	topic string
	// key is the Kafka key of every event (a payment's refunds share the payment's), so that
	// consumers receive them in the order they were queued.
	key           string
	schemaVersion int
	pending       []schemas.Event
}

// add queues one event of each type for the change numbered seq of subject, carrying state
// as it is after the change.
func (o *outbox) add(subject string, seq int64, at time.Time, merchant string, state any, types ...string) error {
	if len(types) == 0 {
		return nil
	}
	// encoding/json writes struct fields in order and map keys sorted: the bytes are the
	// same on replay.
	data, err := json.Marshal(state) //workflowcheck:ignore
	if err != nil {
		return fmt.Errorf("encode %s for %v: %w", subject, types, err)
	}
	for _, typ := range types {
		o.pending = append(o.pending, schemas.Event{
			ID:   schemas.EventID(subject, typ, strconv.FormatInt(seq, 10)),
			Type: typ, Created: at.Unix(), Merchant: merchant, SchemaVersion: o.schemaVersion, Data: data,
		})
	}
	return nil
}

// publish sends the queued events in order.
func (o *outbox) publish(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, eventPublish)
	for len(o.pending) > 0 {
		ev := o.pending[0]
		if err := activities.ExecPublishEvent(actx, schemas.PublishEventRequest{Topic: o.topic, Key: o.key, Event: ev}); err != nil {
			return fmt.Errorf("publish %s: %w", ev.Type, err)
		}
		o.pending = o.pending[1:]
	}
	return nil
}
