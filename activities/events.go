package activities

import (
	"context"

	"github.com/segmentio/kafka-go"
)

// MessageWriter is the part of *kafka.Writer that publishing needs.
type MessageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Events publishes Durapay's events to Kafka.
type Events struct {
	w MessageWriter
}

// NewEvents wires the event activities to a producer (see internal/eventbus.NewWriter).
func NewEvents(w MessageWriter) *Events { return &Events{w: w} }
