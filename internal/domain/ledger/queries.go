package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/pg"
)

// Summary is a merchant's money in one currency, derived from the ledger's postings.
// Amounts are minor units, positive in the merchant's favour.
type Summary struct {
	Merchant string `json:"merchant"`
	Currency string `json:"currency"`
	// Captured is the gross of every capture; Fees Durapay's fees on them; Refunds what was
	// given back (failed refunds reversed); Net = Captured - Fees - Refunds is what Durapay
	// owes the merchant.
	Captured int64 `json:"captured"`
	Fees     int64 `json:"fees"`
	Refunds  int64 `json:"refunds"`
	Net      int64 `json:"net"`
	// Accounts are the raw balances (debits minus credits) of the merchant's accounts.
	Accounts map[AccountKind]int64 `json:"accounts"`
}

// SummaryFilter narrows Summaries; zero fields match everything, AsOf zero means now.
type SummaryFilter struct {
	Merchant string
	Currency string
	AsOf     time.Time
}

// Summaries derives each merchant's balances from the postings of transactions created up
// to AsOf, per currency.
func Summaries(ctx context.Context, q pg.Querier, f SummaryFilter) ([]Summary, error) {
	asOf := f.AsOf
	if asOf.IsZero() {
		asOf = time.Now()
	}
	rows, err := q.Query(ctx, `
		SELECT a.owner, a.currency, a.kind, t.kind, sum(p.amount)::bigint
		  FROM ledger_postings p
		  JOIN ledger_accounts a ON a.id = p.account_id
		  JOIN ledger_transactions t ON t.id = p.transaction_id
		 WHERE a.owner <> $1 AND ($2 = '' OR a.owner = $2) AND ($3 = '' OR a.currency = $3) AND t.created_at <= $4
		 GROUP BY a.owner, a.currency, a.kind, t.kind
		 ORDER BY a.owner, a.currency`, PlatformOwner, f.Merchant, f.Currency, asOf)
	if err != nil {
		return nil, fmt.Errorf("summarize ledger: %w", err)
	}
	var out []Summary
	defer rows.Close()
	for rows.Next() {
		var (
			owner, currency, txnKind string
			account                  AccountKind
			sum                      int64
		)
		if err := rows.Scan(&owner, &currency, &account, &txnKind, &sum); err != nil {
			return nil, fmt.Errorf("summarize ledger: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Merchant != owner || out[len(out)-1].Currency != currency {
			out = append(out, Summary{Merchant: owner, Currency: currency, Accounts: map[AccountKind]int64{}})
		}
		s := &out[len(out)-1]
		s.Accounts[account] += sum
		switch {
		case account == MerchantBalance && txnKind == KindCapture:
			s.Captured -= sum // captures credit the merchant's balance
		case account == MerchantBalance && txnKind == KindFee:
			s.Fees += sum
		case account == Refunds:
			s.Refunds += sum // refunds debit, reversals credit
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarize ledger: %w", err)
	}
	for i := range out {
		out[i].Net = out[i].Captured - out[i].Fees - out[i].Refunds
	}
	return out, nil
}

// Unbalanced lists the transactions (and the whole ledger, as "*") whose postings do not
// sum to zero in some currency: empty when the double-entry rule holds everywhere. Postgres
// enforces the rule at commit; this is the check finance can run and see.
func Unbalanced(ctx context.Context, q pg.Querier) ([]string, error) {
	rows, err := q.Query(ctx, `
		SELECT transaction_id || ' ' || currency FROM ledger_postings GROUP BY transaction_id, currency HAVING sum(amount) <> 0
		UNION ALL
		SELECT '* ' || currency FROM ledger_postings GROUP BY currency HAVING sum(amount) <> 0`)
	if err != nil {
		return nil, fmt.Errorf("check ledger: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// TransactionFilter narrows ListTransactions; zero fields match everything.
type TransactionFilter struct {
	Merchant, Payment, Kind string
	From, To                time.Time // created_at in [From, To)
	// After continues a listing after this transaction (keyset pagination).
	After string
	Limit int
}

// ListTransactions returns transactions with their postings, oldest first.
func ListTransactions(ctx context.Context, q pg.Querier, f TransactionFilter) ([]Transaction, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := q.Query(ctx, `
		SELECT t.id FROM ledger_transactions t
		 WHERE ($1 = '' OR t.merchant_id = $1) AND ($2 = '' OR t.payment_id = $2) AND ($3 = '' OR t.kind = $3)
		   AND ($4::timestamptz IS NULL OR t.created_at >= $4) AND ($5::timestamptz IS NULL OR t.created_at < $5)
		   AND ($6 = '' OR (t.created_at, t.id) > (SELECT created_at, id FROM ledger_transactions WHERE id = $6))
		 ORDER BY t.created_at, t.id LIMIT $7`,
		f.Merchant, f.Payment, f.Kind, nullableTime(f.From), nullableTime(f.To), f.After, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list ledger transactions: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list ledger transactions: %w", err)
	}
	out := make([]Transaction, 0, len(ids))
	for _, id := range ids {
		t, err := Get(ctx, q, id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func nullableTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// ClearingMovement is what one transaction mirroring a Stripe object (a charge, a refund, a
// refund's failure) moved through the platform's Stripe clearing account.
type ClearingMovement struct {
	Kind, ExternalRef string
	Amount            int64 // minor units, positive into Stripe's balance
	Currency          string
	Merchant, Payment string
}

// ClearingFilter narrows ClearingMovements: transactions of Kinds, created in [From, To),
// or, when ExternalRef is set, only those mirroring that Stripe object whenever recorded.
type ClearingFilter struct {
	Kinds       []string
	From, To    time.Time
	ExternalRef string
}

// ClearingMovements reads, per matching transaction, its posting to the platform's Stripe
// clearing account: the ledger's side of a reconciliation with Stripe.
func ClearingMovements(ctx context.Context, q pg.Querier, f ClearingFilter) ([]ClearingMovement, error) {
	rows, err := q.Query(ctx, `
		SELECT t.kind, t.external_ref, p.amount, p.currency, t.merchant_id, coalesce(t.payment_id, '')
		  FROM ledger_transactions t
		  JOIN ledger_postings p ON p.transaction_id = t.id
		  JOIN ledger_accounts a ON a.id = p.account_id AND a.owner = 'platform' AND a.kind = 'stripe_clearing'
		 WHERE t.external_ref IS NOT NULL AND t.kind = ANY($1)
		   AND ($2 = '' OR t.external_ref = $2)
		   AND ($3::timestamptz IS NULL OR t.created_at >= $3) AND ($4::timestamptz IS NULL OR t.created_at < $4)`,
		f.Kinds, f.ExternalRef, nullableTime(f.From), nullableTime(f.To))
	if err != nil {
		return nil, fmt.Errorf("read ledger clearing movements: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (ClearingMovement, error) {
		var m ClearingMovement
		err := row.Scan(&m.Kind, &m.ExternalRef, &m.Amount, &m.Currency, &m.Merchant, &m.Payment)
		return m, err
	})
}

// MerchantsActive lists the merchants with ledger transactions created in [from, to).
func MerchantsActive(ctx context.Context, q pg.Querier, from, to time.Time) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT merchant_id FROM ledger_transactions
		WHERE created_at >= $1 AND created_at < $2 ORDER BY merchant_id`, from, to)
	if err != nil {
		return nil, fmt.Errorf("merchants active in the ledger: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
