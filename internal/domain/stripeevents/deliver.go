package stripeevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/api/serviceerror"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// Event is what Durapay reads of a Stripe event: its identity and the object it is about.
// These fields mean the same in every Stripe API version, so an event sent with another
// version than stripe-go's pin (2023-10-16) is still understood: the workflow then reads the
// object itself, with the pinned version. That is why the webhook does not refuse events of
// other versions (stripe-go's ConstructEvent would); it logs them.
type Event struct {
	ID         string
	Type       string
	Created    int64
	APIVersion string
	ObjectID   string
	// WorkflowID is the object's durapay_workflow_id metadata: empty for objects Durapay did
	// not create.
	WorkflowID string
}

// Parse decodes an event's JSON, as a webhook delivers it or the Events list returns it.
func Parse(raw []byte) (Event, error) {
	var ev struct {
		ID         string `json:"id"`
		Object     string `json:"object"`
		Type       string `json:"type"`
		Created    int64  `json:"created"`
		APIVersion string `json:"api_version"`
		Data       struct {
			Object struct {
				ID       string            `json:"id"`
				Metadata map[string]string `json:"metadata"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return Event{}, fmt.Errorf("decode Stripe event: %w", err)
	}
	if ev.Object != "event" || ev.ID == "" || ev.Type == "" || ev.Data.Object.ID == "" {
		return Event{}, errors.New("not a Stripe event: id, type and data.object.id are required")
	}
	return Event{ID: ev.ID, Type: ev.Type, Created: ev.Created, APIVersion: ev.APIVersion,
		ObjectID: ev.Data.Object.ID, WorkflowID: ev.Data.Object.Metadata[schemas.StripeMetadataWorkflowID]}, nil
}

// Outcome is what became of a delivered event.
type Outcome string

const (
	Delivered Outcome = "delivered"
	// Duplicate: the event was delivered before; nothing changed.
	Duplicate Outcome = "duplicate"
	// NotOurs: the object does not belong to a Durapay workflow.
	NotOurs Outcome = "not_ours"
	// WorkflowClosed: the workflow has finished and needs the event no more.
	WorkflowClosed Outcome = "workflow_closed"
)

// Sources of events.
const (
	SourceWebhook  = "webhook"
	SourceBackfill = "backfill"
)

// Signaler is the part of the Temporal client that delivery needs.
type Signaler interface {
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// Router delivers events to workflows, each event once.
type Router struct {
	pool     *pgxpool.Pool
	temporal Signaler
}

// NewRouter returns a Router that records events in pool and signals through temporal.
func NewRouter(pool *pgxpool.Pool, temporal Signaler) *Router {
	return &Router{pool: pool, temporal: temporal}
}

// Deliver records the event and signals its workflow, unless it was delivered before.
//
// The event is marked delivered only after the signal succeeded: a failure leaves it
// undelivered, so Stripe's redelivery (or the backfill) tries again. Two concurrent
// deliveries of one event may both signal; the workflow drops the second by event ID.
func (r *Router) Deliver(ctx context.Context, ev Event, source string) (Outcome, error) {
	var delivered *time.Time
	err := r.pool.QueryRow(ctx, `
		WITH inserted AS (
			INSERT INTO stripe_events (id, type, object_id, created_at, source) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO NOTHING RETURNING delivered_at)
		SELECT delivered_at FROM inserted
		UNION ALL SELECT delivered_at FROM stripe_events WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM inserted)`,
		ev.ID, ev.Type, ev.ObjectID, time.Unix(ev.Created, 0).UTC(), source).Scan(&delivered)
	if err != nil {
		return "", fmt.Errorf("record Stripe event %s: %w", ev.ID, err)
	}
	if delivered != nil {
		return Duplicate, nil
	}
	outcome := Delivered
	if ev.WorkflowID == "" {
		outcome = NotOurs
	} else {
		err := r.temporal.SignalWorkflow(ctx, ev.WorkflowID, "", schemas.SignalStripeEvent,
			schemas.StripeEventSignal{EventID: ev.ID, Type: ev.Type, Created: ev.Created, ObjectID: ev.ObjectID})
		var notFound *serviceerror.NotFound
		switch {
		case errors.As(err, &notFound):
			outcome = WorkflowClosed
		case err != nil:
			return "", fmt.Errorf("signal %s with Stripe event %s: %w", ev.WorkflowID, ev.ID, err)
		}
	}
	if _, err := r.pool.Exec(ctx, `UPDATE stripe_events SET delivered_at = now(), outcome = $2 WHERE id = $1`, ev.ID, outcome); err != nil {
		return "", fmt.Errorf("mark Stripe event %s delivered: %w", ev.ID, err)
	}
	return outcome, nil
}

// FromStripe reads an event from stripe-go's type, as the Events list returns it.
func FromStripe(ev *stripe.Event) Event {
	out := Event{ID: ev.ID, Type: string(ev.Type), Created: ev.Created, APIVersion: ev.APIVersion}
	if ev.Data != nil {
		out.ObjectID, _ = ev.Data.Object["id"].(string)
		if md, ok := ev.Data.Object["metadata"].(map[string]any); ok {
			out.WorkflowID, _ = md[schemas.StripeMetadataWorkflowID].(string)
		}
	}
	return out
}

// Prune deletes up to limit delivered events received before before: a redelivery of one
// older than that is past Stripe's retries (3 days) and the backfill's lookback. Events not
// delivered yet are kept whatever their age.
func Prune(ctx context.Context, q pg.Querier, before time.Time, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `
		DELETE FROM stripe_events WHERE id IN (
			SELECT id FROM stripe_events WHERE received_at < $1 AND delivered_at IS NOT NULL LIMIT $2)`, before, limit)
	return tag.RowsAffected(), err
}
