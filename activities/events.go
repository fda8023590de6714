package activities

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
)

// MessageWriter is the part of *kafka.Writer that publishing needs.
type MessageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Events records Durapay's events (internal/domain/eventlog) and publishes them to Kafka.
type Events struct {
	w    MessageWriter
	pool *pgxpool.Pool
}

// NewEvents wires the event activities to a producer (see internal/platform/eventbus.NewWriter) and
// the event log's database.
func NewEvents(w MessageWriter, pool *pgxpool.Pool) *Events { return &Events{w: w, pool: pool} }
