// Package eventlog records every event Durapay emits, before it is published to Kafka, and
// is what makes an event authentic: consumers act only on events found here, built from the
// recorded copy, so that a message someone else produced to a topic (a forged payment.succeeded,
// say) sends no webhook, email or text and counts for nothing.
package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/durapay/durapay/internal/platform/eventbus"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// Emitted is one recorded event.
type Emitted struct {
	ID       string
	Merchant string
	Type     string
	Topic    string
	Key      string
	Created  time.Time
	// Payload is the envelope's JSON, as published.
	Payload []byte
}

// Record stores the event unless an event with its ID is recorded already, and returns the
// recorded payload: the one to publish, so that every copy of an event carries the same
// bytes however often its publication is retried.
func Record(ctx context.Context, q pg.Querier, topic, key string, ev schemas.Event) ([]byte, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	var recorded []byte
	err = q.QueryRow(ctx, `
		WITH inserted AS (
			INSERT INTO events (id, merchant_id, type, topic, key, payload, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING payload
		)
		SELECT payload FROM inserted UNION ALL SELECT payload FROM events WHERE id = $1 LIMIT 1`,
		ev.ID, ev.Merchant, ev.Type, topic, key, payload, time.Unix(ev.Created, 0)).Scan(&recorded)
	if err != nil {
		return nil, fmt.Errorf("record event %s: %w", ev.ID, err)
	}
	return recorded, nil
}

// Get returns a recorded event, or pg.ErrNotFound.
func Get(ctx context.Context, q pg.Querier, id string) (Emitted, error) {
	var e Emitted
	err := q.QueryRow(ctx, `SELECT id, merchant_id, type, topic, key, created_at, payload FROM events WHERE id = $1`, id).
		Scan(&e.ID, &e.Merchant, &e.Type, &e.Topic, &e.Key, &e.Created, &e.Payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return Emitted{}, pg.ErrNotFound
	}
	if err != nil {
		return Emitted{}, fmt.Errorf("read event %s: %w", id, err)
	}
	return e, nil
}

// ErrNotEmitted: a message whose event Durapay never emitted (or not on that topic).
var ErrNotEmitted = errors.New("event not emitted by Durapay")

// Authentic hands next only messages whose event Durapay recorded on that topic, with the
// recorded key and payload in place of the message's: what a consumer acts on is Durapay's
// own copy. Any other message fails permanently (a dead letter, with the reason).
func Authentic(q pg.Querier, next eventbus.Handler) eventbus.Handler {
	return func(ctx context.Context, m kafka.Message) error {
		var claimed struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(m.Value, &claimed); err != nil || claimed.ID == "" {
			return eventbus.Permanent(fmt.Errorf("%w: the message names no event ID", ErrNotEmitted))
		}
		e, err := Get(ctx, q, claimed.ID)
		if errors.Is(err, pg.ErrNotFound) || (err == nil && e.Topic != m.Topic) {
			return eventbus.Permanent(fmt.Errorf("%w: event %.100q is not in the event log of topic %s", ErrNotEmitted, claimed.ID, m.Topic))
		}
		if err != nil {
			return err
		}
		m.Key, m.Value = []byte(e.Key), e.Payload
		return next(ctx, m)
	}
}

// Prune deletes up to limit events recorded before before.
func Prune(ctx context.Context, q pg.Querier, before time.Time, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE recorded_at < $1 LIMIT $2)`, before, limit)
	return tag.RowsAffected(), err
}
