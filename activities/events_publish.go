package activities

import (
	"context"
	"fmt"
	"strconv"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/eventlog"
	"github.com/durapay/durapay/schemas"
)

// PublishEvent records the event in the event log (what makes it authentic to consumers),
// then writes it to Kafka and returns once the in-sync replicas have it. Kafka has no
// idempotent producer in kafka-go, so a retried publish may store the event twice; both
// copies carry the same deterministic event ID and bytes, and consumers dedupe on the ID.
func (e *Events) PublishEvent(ctx context.Context, req schemas.PublishEventRequest) error {
	value, err := eventlog.Record(ctx, e.pool, req.Topic, req.Key, req.Event)
	if err != nil {
		return err
	}
	msg := kafka.Message{
		Topic: req.Topic,
		Key:   []byte(req.Key),
		Value: value,
		Headers: []kafka.Header{
			{Key: "event-id", Value: []byte(req.Event.ID)},
			{Key: "event-type", Value: []byte(req.Event.Type)},
			{Key: "schema-version", Value: []byte(strconv.Itoa(req.Event.SchemaVersion))},
			{Key: "content-type", Value: []byte("application/json")},
		},
	}
	if err := e.w.WriteMessages(ctx, msg); err != nil {
		return fmt.Errorf("publish %s %s to %s: %w", req.Event.Type, req.Event.ID, req.Topic, err)
	}
	return nil
}

// ExecPublishEvent runs the activity from workflow code as a regular activity: it runs after
// the client has its answer, and scheduling it is what ends the workflow task that carries
// that answer.
func ExecPublishEvent(ctx workflow.Context, req schemas.PublishEventRequest) error {
	return workflow.ExecuteActivity(ctx, schemas.PublishEventName, req).Get(ctx, nil)
}
