// Package reports builds the daily settlement report of a merchant: every ledger
// transaction of one UTC day that moved the merchant's money, and the totals per currency.
//
// A report is a pure function of the ledger, whose postings never change: built twice for
// the same day, it has the same bytes, so a re-run writes the same object.
package reports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas/money"
)

// DayLayout is how days are written: 2026-11-29.
const DayLayout = time.DateOnly

// Report is one merchant's report of one day.
type Report struct {
	Merchant string
	Day      string
	Key      string // the object's key in the bucket
	CSV      []byte
	SHA256   string
	Rows     int // transaction rows, totals excluded
}

// ObjectKey names a report in the bucket.
func ObjectKey(merchant, day string) string {
	return "settlement/" + merchant + "/" + day + ".csv"
}

// Header is the CSV's first line. Amounts are in major units of the currency (2 decimals
// for USD, 0 for JPY, 3 for KWD), positive in the merchant's favour.
var Header = []string{"created", "type", "payment", "refund", "stripe_object", "currency", "gross", "fee", "net"}

// MerchantsWithActivity lists the merchants with ledger transactions on day (UTC).
func MerchantsWithActivity(ctx context.Context, q pg.Querier, day time.Time) ([]string, error) {
	merchants, err := ledger.MerchantsActive(ctx, q, day, day.AddDate(0, 0, 1))
	if err != nil {
		return nil, fmt.Errorf("merchants active on %s: %w", day.Format(DayLayout), err)
	}
	return merchants, nil
}

// Build makes the merchant's report of day (a UTC midnight).
func Build(ctx context.Context, q pg.Querier, merchant string, day time.Time) (Report, error) {
	var txns []ledger.Transaction
	after := ""
	for {
		page, err := ledger.ListTransactions(ctx, q, ledger.TransactionFilter{Merchant: merchant, From: day, To: day.AddDate(0, 0, 1), After: after, Limit: 500})
		if err != nil {
			return Report{}, err
		}
		txns = append(txns, page...)
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(Header)
	type total struct{ gross, fee, net int64 }
	totals := map[money.Currency]*total{}
	rows := 0
	for _, t := range txns {
		gross, fee, currency := merchantSide(t, merchant)
		if currency == "" {
			continue // no posting of the merchant's: the platform's own (Stripe's fee on the charge)
		}
		rows++
		if totals[currency] == nil {
			totals[currency] = &total{}
		}
		tot := totals[currency]
		tot.gross, tot.fee, tot.net = tot.gross+gross, tot.fee+fee, tot.net+gross-fee
		_ = w.Write([]string{t.Created.UTC().Format(time.RFC3339), t.Kind, t.PaymentID, t.RefundID, t.ExternalRef, string(currency),
			major(gross, currency), major(fee, currency), major(gross-fee, currency)})
	}
	currencies := make([]money.Currency, 0, len(totals))
	for c := range totals {
		currencies = append(currencies, c)
	}
	slices.Sort(currencies)
	for _, c := range currencies {
		tot := totals[c]
		_ = w.Write([]string{"", "total", "", "", "", string(c), major(tot.gross, c), major(tot.fee, c), major(tot.net, c)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return Report{}, fmt.Errorf("write report: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	d := day.Format(DayLayout)
	return Report{Merchant: merchant, Day: d, Key: ObjectKey(merchant, d), CSV: buf.Bytes(), SHA256: hex.EncodeToString(sum[:]), Rows: rows}, nil
}

// merchantSide reads a transaction from the merchant's side: the gross it moved (captures
// positive, refunds negative) and the fee it cost.
func merchantSide(t ledger.Transaction, merchant string) (gross, fee int64, currency money.Currency) {
	for _, p := range t.Postings {
		if p.Account.Owner != merchant {
			continue
		}
		currency = p.Account.Currency
		switch {
		case t.Kind == ledger.KindFee:
			fee += p.Amount // a debit of the merchant's balance
		default:
			gross -= p.Amount // credits to the merchant are negative postings
		}
	}
	return gross, fee, currency
}

func major(minor int64, c money.Currency) string {
	return money.Amount{Minor: minor, Currency: c}.Decimal().StringFixed(c.Exponent())
}

// Save records a written report; saving the same report again changes nothing.
func Save(ctx context.Context, q pg.Querier, r Report) error {
	_, err := q.Exec(ctx, `
		INSERT INTO reports (merchant_id, day, object_key, sha256, size_bytes, row_count) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (merchant_id, day) DO UPDATE SET object_key = EXCLUDED.object_key, sha256 = EXCLUDED.sha256,
		       size_bytes = EXCLUDED.size_bytes, row_count = EXCLUDED.row_count
		 WHERE reports.sha256 <> EXCLUDED.sha256`,
		r.Merchant, r.Day, r.Key, r.SHA256, len(r.CSV), r.Rows)
	if err != nil {
		return fmt.Errorf("record report %s: %w", r.Key, err)
	}
	return nil
}

// Listed is a report as listed for finance.
type Listed struct {
	Merchant  string    `json:"merchant"`
	Day       string    `json:"day"`
	Key       string    `json:"key"`
	SHA256    string    `json:"sha256"`
	SizeBytes int       `json:"size_bytes"`
	Rows      int       `json:"rows"`
	Created   time.Time `json:"created"`
}

// List returns the reports of a merchant (or all, merchant empty) between two days, newest
// first.
func List(ctx context.Context, q pg.Querier, merchant string, from, to time.Time, limit int) ([]Listed, error) {
	rows, err := q.Query(ctx, `
		SELECT merchant_id, to_char(day, 'YYYY-MM-DD'), object_key, sha256, size_bytes, row_count, created_at FROM reports
		 WHERE ($1 = '' OR merchant_id = $1) AND day >= $2 AND day <= $3
		 ORDER BY day DESC, merchant_id LIMIT $4`, merchant, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Listed, error) {
		var l Listed
		err := row.Scan(&l.Merchant, &l.Day, &l.Key, &l.SHA256, &l.SizeBytes, &l.Rows, &l.Created)
		return l, err
	})
}

// ParseDay reads a day (2026-11-29) as its UTC midnight.
func ParseDay(s string) (time.Time, error) {
	d, err := time.ParseInLocation(DayLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: want YYYY-MM-DD", s)
	}
	return d, nil
}
