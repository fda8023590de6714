// Package retention deletes the rows that matter only for a while: the saved answers of
// idempotent requests, receipts of Stripe events, notification claims, webhook deliveries
// with their attempts, the consumers' inbox of events already applied, and the event log.
// Money (payments, refunds, the ledger), the audit log, merchants and their keys are never
// pruned.
//
// How long each table keeps its rows is the caller's policy; what may never go is decided by
// the package that owns the table, in its Prune: a request still being answered (a claim
// younger than a day), a send whose outcome is unknown (an operator must see it), a Stripe
// event not yet delivered, a webhook still being attempted or one that a newer redelivery
// names.
package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/durapay/durapay/internal/domain/analytics"
	"github.com/durapay/durapay/internal/domain/eventlog"
	"github.com/durapay/durapay/internal/domain/idempotency"
	"github.com/durapay/durapay/internal/domain/notify"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// pruner deletes at most limit of its table's rows older than before, and says how many.
type pruner func(ctx context.Context, q pg.Querier, before time.Time, limit int) (int64, error)

// pruners are the tables' own rules, each in the package that owns the table: what may
// never go is decided there.
var pruners = map[string]pruner{
	schemas.PrunableIdempotencyRecords: idempotency.Prune,
	schemas.PrunableStripeEvents:       stripeevents.Prune,
	schemas.PrunableNotificationSends:  notify.PruneSends,
	schemas.PrunableEvents:             eventlog.Prune,
	schemas.PrunableConsumerInbox:      analytics.PruneInbox,
	schemas.PrunableWebhookDeliveries:  webhooks.PruneDeliveries,
}

// Batch bounds the rows one statement deletes, so that pruning a backlog holds no long
// locks and makes no huge transaction.
const Batch = 5_000

// Prune deletes table's rows older than before, batch after batch, calling progress after
// each with the total so far (an activity heartbeats there), and returns the total.
func Prune(ctx context.Context, q pg.Querier, table string, before time.Time, progress func(deleted int64)) (int64, error) {
	prune, ok := pruners[table]
	if !ok {
		return 0, fmt.Errorf("retention: no rule for table %q", table)
	}
	var total int64
	for {
		n, err := prune(ctx, q, before, Batch)
		if err != nil {
			return total, fmt.Errorf("retention: prune %s: %w", table, err)
		}
		// Until a batch finds nothing: a short batch may have left rows that only the rows
		// it deleted held back (an original delivery, once its redelivery is gone).
		if n == 0 {
			return total, nil
		}
		total += n
		progress(total)
	}
}
