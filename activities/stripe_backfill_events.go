package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/activity"

	"github.com/durapay/durapay/internal/domain/cursors"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/schemas"
)

// cursorStripeEvents names the backfill's saved position in sync_cursors.
const cursorStripeEvents = "stripe_events"

// StripeEvents delivers the Stripe events that no webhook brought.
type StripeEvents struct {
	api    *client.API
	router *stripeevents.Router
	pool   *pgxpool.Pool
}

// NewStripeEvents wires the backfill to Stripe, the event router and Postgres.
func NewStripeEvents(api *client.API, router *stripeevents.Router, pool *pgxpool.Pool) *StripeEvents {
	return &StripeEvents{api: api, router: router, pool: pool}
}

// BackfillStripeEvents reads Stripe's Events list from the saved position (less an overlap)
// and delivers every event not delivered yet, exactly as the webhook would, so that an
// outage of Durapay's webhook endpoint loses no outcome. It saves the new position only
// after the whole list was read: a failed run is repeated in full, and duplicates are
// dropped by event ID.
func (s *StripeEvents) BackfillStripeEvents(ctx context.Context, in schemas.StripeEventsBackfillInput) (schemas.StripeEventsBackfillResult, error) {
	var res schemas.StripeEventsBackfillResult
	since, ok, err := cursors.Position(ctx, s.pool, cursorStripeEvents)
	if err != nil {
		return res, err
	}
	if !ok {
		since = time.Now().Add(-in.Lookback)
	}
	since = since.Add(-in.Overlap)
	params := &stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	newest := since
	it := s.api.Events.List(params)
	for it.Next() {
		ev := stripeevents.FromStripe(it.Event())
		outcome, err := s.router.Deliver(ctx, ev, stripeevents.SourceBackfill)
		if err != nil {
			return res, err
		}
		res.Listed++
		if outcome != stripeevents.Duplicate {
			res.Delivered++
		}
		if created := time.Unix(ev.Created, 0); created.After(newest) {
			newest = created
		}
		activity.RecordHeartbeat(ctx, res.Listed)
	}
	if err := it.Err(); err != nil {
		return res, fmt.Errorf("list Stripe events: %w", ClassifyStripeError(err))
	}
	return res, cursors.Advance(ctx, s.pool, cursorStripeEvents, newest)
}
