// Package reconcile compares Durapay's ledger with Stripe's balance transactions.
//
// Each ledger transaction that mirrors a Stripe object records it (external_ref): a capture
// its charge, a refund (and a refund's reversal) the Stripe refund. Stripe's balance
// transactions name the same objects as their source. Matched by (source, type), the two
// sides must agree on the amount that moved through Stripe; anything on one side only, or
// with another amount, is a mismatch for finance to look at.
package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas/money"
)

// Item is one movement of money through Stripe, as either side records it.
type Item struct {
	Source   string `json:"source"` // ch_..., re_...
	Type     string `json:"type"`   // charge, refund, refund_failure (Stripe's balance transaction types)
	Amount   int64  `json:"amount"` // minor units, positive into Stripe's balance
	Currency string `json:"currency"`
	// Stripe's side: its fee on the movement, and when it was made.
	Fee     int64     `json:"fee,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// The ledger's side: whose movement it is.
	Merchant string `json:"merchant,omitempty"`
	Payment  string `json:"payment,omitempty"`
}

func (i Item) key() string { return i.Type + " " + i.Source }

// Mismatch kinds.
const (
	MissingInLedger = "missing_in_ledger"
	MissingAtStripe = "missing_at_stripe"
	AmountMismatch  = "amount_mismatch"
)

// Mismatch is a disagreement between the ledger and Stripe.
type Mismatch struct {
	Day          string `json:"day"`
	Kind         string `json:"kind"`
	Source       string `json:"source"`
	Currency     string `json:"currency"`
	StripeAmount *int64 `json:"stripe_amount,omitempty"`
	LedgerAmount *int64 `json:"ledger_amount,omitempty"`
	Merchant     string `json:"merchant,omitempty"`
}

// Compare matches the two sides. lookupLedger and lookupStripe find an item on the other
// side outside the period (objects near midnight can land on either side of it); they
// return false when there is none.
func Compare(day string, stripe, book []Item, lookupLedger, lookupStripe func(Item) (Item, bool, error)) ([]Mismatch, error) {
	byKey := func(items []Item) map[string]Item {
		m := make(map[string]Item, len(items))
		for _, i := range items {
			m[i.key()] = i
		}
		return m
	}
	stripeByKey, bookByKey := byKey(stripe), byKey(book)
	var out []Mismatch
	for _, s := range stripe {
		b, found := bookByKey[s.key()]
		if !found {
			var err error
			if b, found, err = lookupLedger(s); err != nil {
				return nil, err
			}
		}
		switch {
		case !found:
			out = append(out, Mismatch{Day: day, Kind: MissingInLedger, Source: s.Source, Currency: s.Currency, StripeAmount: &s.Amount})
		case b.Amount != s.Amount || b.Currency != s.Currency:
			out = append(out, Mismatch{Day: day, Kind: AmountMismatch, Source: s.Source, Currency: s.Currency,
				StripeAmount: &s.Amount, LedgerAmount: &b.Amount, Merchant: b.Merchant})
		}
	}
	for _, b := range book {
		if _, found := stripeByKey[b.key()]; found {
			continue
		}
		s, found, err := lookupStripe(b)
		if err != nil {
			return nil, err
		}
		switch {
		case !found:
			out = append(out, Mismatch{Day: day, Kind: MissingAtStripe, Source: b.Source, Currency: b.Currency, LedgerAmount: &b.Amount, Merchant: b.Merchant})
		case s.Amount != b.Amount || s.Currency != b.Currency:
			out = append(out, Mismatch{Day: day, Kind: AmountMismatch, Source: b.Source, Currency: b.Currency,
				StripeAmount: &s.Amount, LedgerAmount: &b.Amount, Merchant: b.Merchant})
		}
	}
	slices.SortFunc(out, func(a, b Mismatch) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Source, b.Source)) })
	return slices.CompactFunc(out, func(a, b Mismatch) bool { return a.Kind == b.Kind && a.Source == b.Source }), nil
}

// stripeType is the balance transaction type Stripe records for each kind of ledger
// transaction that mirrors one of its objects.
var stripeType = map[string]string{
	ledger.KindCapture: "charge", ledger.KindRefund: "refund", ledger.KindRefundReversal: "refund_failure",
}

// LedgerItems lists the ledger's Stripe movements created in [from, to).
func LedgerItems(ctx context.Context, q pg.Querier, from, to time.Time) ([]Item, error) {
	return ledgerItems(ctx, q, ledger.ClearingFilter{From: from, To: to})
}

// LedgerItem finds the ledger's movement of one Stripe object, whenever it was recorded.
func LedgerItem(ctx context.Context, q pg.Querier, like Item) (Item, bool, error) {
	items, err := ledgerItems(ctx, q, ledger.ClearingFilter{ExternalRef: like.Source})
	if err != nil {
		return Item{}, false, err
	}
	for _, i := range items {
		if i.Type == like.Type {
			return i, true, nil
		}
	}
	return Item{}, false, nil
}

func ledgerItems(ctx context.Context, q pg.Querier, f ledger.ClearingFilter) ([]Item, error) {
	for k := range stripeType {
		f.Kinds = append(f.Kinds, k)
	}
	moves, err := ledger.ClearingMovements(ctx, q, f)
	if err != nil {
		return nil, err
	}
	items := make([]Item, len(moves))
	for i, m := range moves {
		items[i] = Item{Source: m.ExternalRef, Type: stripeType[m.Kind], Amount: m.Amount, Currency: m.Currency,
			Merchant: m.Merchant, Payment: m.Payment}
	}
	return items, nil
}

// BookStripeFees posts into the ledger Stripe's fee on each charge in stripe (a day's
// balance transactions), once: a re-run finds them posted. book is the ledger's side of the
// same day, which names each charge's merchant and payment. A charge the ledger does not
// know is a mismatch already; its fee is booked by a run after the ledger has it. progress
// is called after each charge with the count so far (an activity heartbeats there).
func BookStripeFees(ctx context.Context, pool *pgxpool.Pool, stripe, book []Item, progress func(done int)) (booked int, err error) {
	inBook := make(map[string]Item, len(book))
	for _, b := range book {
		inBook[b.key()] = b
	}
	for i, s := range stripe {
		progress(i)
		if s.Type != "charge" || s.Fee == 0 {
			continue
		}
		b, found := inBook[s.key()]
		if !found {
			if b, found, err = LedgerItem(ctx, pool, s); err != nil {
				return booked, err
			}
			if !found {
				continue
			}
		}
		currency, err := money.ParseCurrency(s.Currency)
		if err != nil {
			return booked, fmt.Errorf("the fee on %s: %w", s.Source, err)
		}
		fee := ledger.StripeFee(s.Source, b.Payment, b.Merchant, money.Amount{Minor: s.Fee, Currency: currency}, s.Created)
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			posted, err := ledger.Post(ctx, tx, fee)
			if posted {
				booked++
			}
			return err
		})
		if err != nil {
			return booked, fmt.Errorf("book Stripe's fee on %s: %w", s.Source, err)
		}
	}
	return booked, nil
}

// Record saves a day's run and its mismatches, and returns the mismatches not recorded
// before (a re-run of the day finds the same ones and reports none as new).
func Record(ctx context.Context, q pg.Querier, day string, stripeCount, ledgerCount int, found []Mismatch) ([]Mismatch, error) {
	var fresh []Mismatch
	for _, m := range found {
		tag, err := q.Exec(ctx, `
			INSERT INTO reconciliation_mismatches (day, kind, source_id, currency, stripe_amount, ledger_amount, merchant_id)
			VALUES ($1, $2, $3, $4, $5, $6, nullif($7, '')) ON CONFLICT (day, kind, source_id) DO NOTHING`,
			day, m.Kind, m.Source, m.Currency, m.StripeAmount, m.LedgerAmount, m.Merchant)
		if err != nil {
			return nil, fmt.Errorf("record mismatch %s %s: %w", m.Kind, m.Source, err)
		}
		if tag.RowsAffected() == 1 {
			fresh = append(fresh, m)
		}
	}
	_, err := q.Exec(ctx, `
		INSERT INTO reconciliation_runs (day, stripe_count, ledger_count, mismatches) VALUES ($1, $2, $3, $4)
		ON CONFLICT (day) DO UPDATE SET stripe_count = EXCLUDED.stripe_count, ledger_count = EXCLUDED.ledger_count,
		       mismatches = EXCLUDED.mismatches, finished_at = now()`, day, stripeCount, ledgerCount, len(found))
	if err != nil {
		return nil, fmt.Errorf("record reconciliation of %s: %w", day, err)
	}
	return fresh, nil
}

// Run is a day's reconciliation as finance sees it.
type Run struct {
	Day         string     `json:"day"`
	StripeCount int        `json:"stripe_count"`
	LedgerCount int        `json:"ledger_count"`
	Finished    time.Time  `json:"finished"`
	Mismatches  []Mismatch `json:"mismatches"`
}

// Runs lists the reconciliations of [from, to] with their mismatches, newest first.
func Runs(ctx context.Context, q pg.Querier, from, to time.Time) ([]Run, error) {
	rows, err := q.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), stripe_count, ledger_count, finished_at FROM reconciliation_runs
		WHERE day >= $1 AND day <= $2 ORDER BY day DESC`, from, to)
	if err != nil {
		return nil, fmt.Errorf("list reconciliations: %w", err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Run, error) {
		r := Run{Mismatches: []Mismatch{}}
		err := row.Scan(&r.Day, &r.StripeCount, &r.LedgerCount, &r.Finished)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("list reconciliations: %w", err)
	}
	for i := range runs {
		rows, err := q.Query(ctx, `SELECT kind, source_id, currency, stripe_amount, ledger_amount, coalesce(merchant_id, '')
			FROM reconciliation_mismatches WHERE day = $1 ORDER BY kind, source_id`, runs[i].Day)
		if err != nil {
			return nil, fmt.Errorf("list mismatches: %w", err)
		}
		ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Mismatch, error) {
			m := Mismatch{Day: runs[i].Day}
			err := row.Scan(&m.Kind, &m.Source, &m.Currency, &m.StripeAmount, &m.LedgerAmount, &m.Merchant)
			return m, err
		})
		if err != nil {
			return nil, fmt.Errorf("list mismatches: %w", err)
		}
		runs[i].Mismatches = append(runs[i].Mismatches, ms...)
	}
	return runs, nil
}
