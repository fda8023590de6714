package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/activity"

	"github.com/durapay/durapay/internal/domain/reconcile"
	"github.com/durapay/durapay/internal/domain/reports"
	"github.com/durapay/durapay/schemas"
)

// Reconcile compares the ledger's movements through Stripe on day (YYYY-MM-DD, UTC) with
// Stripe's balance transactions of the same day, records the mismatches, books Stripe's
// fees on the day's charges, and returns the mismatches no earlier run found (to publish).
func (f *Finance) Reconcile(ctx context.Context, day string) (schemas.ReconciliationResult, error) {
	from, err := reports.ParseDay(day)
	if err != nil {
		return schemas.ReconciliationResult{}, err
	}
	to := from.AddDate(0, 0, 1)
	params := &stripe.BalanceTransactionListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: from.Unix(), LesserThan: to.Unix()}}
	atStripe, err := f.stripeItems(ctx, params)
	if err != nil {
		return schemas.ReconciliationResult{}, err
	}
	book, err := reconcile.LedgerItems(ctx, f.pool, from, to)
	if err != nil {
		return schemas.ReconciliationResult{}, err
	}
	found, err := reconcile.Compare(day, atStripe, book,
		func(i reconcile.Item) (reconcile.Item, bool, error) { return reconcile.LedgerItem(ctx, f.pool, i) },
		func(i reconcile.Item) (reconcile.Item, bool, error) {
			items, err := f.stripeItems(ctx, &stripe.BalanceTransactionListParams{Source: stripe.String(i.Source)})
			for _, s := range items {
				if s.Type == i.Type {
					return s, true, err
				}
			}
			return reconcile.Item{}, false, err
		})
	if err != nil {
		return schemas.ReconciliationResult{}, err
	}
	fresh, err := reconcile.Record(ctx, f.pool, day, len(atStripe), len(book), found)
	if err != nil {
		return schemas.ReconciliationResult{}, err
	}
	booked, err := reconcile.BookStripeFees(ctx, f.pool, atStripe, book, func(done int) { activity.RecordHeartbeat(ctx, done) })
	if err != nil {
		return schemas.ReconciliationResult{}, err
	}
	res := schemas.ReconciliationResult{Day: day, StripeCount: len(atStripe), LedgerCount: len(book), StripeFeesBooked: booked}
	for _, m := range fresh {
		res.New = append(res.New, schemas.ReconciliationMismatch(m))
	}
	return res, nil
}

// stripeItems lists balance transactions, all pages.
func (f *Finance) stripeItems(ctx context.Context, params *stripe.BalanceTransactionListParams) ([]reconcile.Item, error) {
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	var items []reconcile.Item
	it := f.stripe.BalanceTransactions.List(params)
	for it.Next() {
		t := it.BalanceTransaction()
		if t.Source == nil {
			continue
		}
		items = append(items, reconcile.Item{Source: t.Source.ID, Type: string(t.Type), Amount: t.Amount, Currency: string(t.Currency),
			Fee: t.Fee, Created: time.Unix(t.Created, 0)})
		activity.RecordHeartbeat(ctx, len(items))
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("list Stripe balance transactions: %w", ClassifyStripeError(err))
	}
	return items, nil
}
