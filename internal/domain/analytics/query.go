package analytics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/schemas/money"
)

// ErrBadRange: the query asks for an invalid or too long range, or names no merchant or an
// unknown currency.
var ErrBadRange = errors.New("bad analytics range")

// MaxRange is the longest range Minutes serves.
const MaxRange = 31 * 24 * time.Hour

// MaxMinutes is the most rows Minutes returns. A busy merchant's 31 days in several
// currencies can exceed it: Report.Truncated says so, and the caller asks again from the
// minute after the last one it got.
const MaxMinutes = 10_000

// Minute holds one merchant's figures for one currency and one minute.
type Minute struct {
	Minute           time.Time `json:"minute"` // UTC, the minute's start
	Currency         string    `json:"currency"`
	Volume           int64     `json:"volume"` // minor units captured by succeeded payments
	Count            int64     `json:"count"`  // succeeded payments
	Failed           int64     `json:"failed"`
	RefundsSucceeded int64     `json:"refunds_succeeded"`
	RefundedAmount   int64     `json:"refunded_amount"` // minor units
	// SuccessRate is Count / (Count + Failed); 0 when both are 0.
	SuccessRate float64 `json:"success_rate"`
	// RefundRate is RefundedAmount / Volume; 0 when Volume is 0.
	RefundRate float64 `json:"refund_rate"`
	// AvgSecondsToSuccess is the mean time from creation to success of the Count payments;
	// 0 when Count is 0.
	AvgSecondsToSuccess float64 `json:"avg_seconds_to_success"`
}

// Summary holds the same figures as Minute for one currency over a whole range. Its rates
// and average weigh every payment alike, not every minute.
type Summary struct {
	Currency            string  `json:"currency"`
	Volume              int64   `json:"volume"`
	Count               int64   `json:"count"`
	Failed              int64   `json:"failed"`
	RefundsSucceeded    int64   `json:"refunds_succeeded"`
	RefundedAmount      int64   `json:"refunded_amount"`
	SuccessRate         float64 `json:"success_rate"`
	RefundRate          float64 `json:"refund_rate"`
	AvgSecondsToSuccess float64 `json:"avg_seconds_to_success"`
}

// Report answers Minutes.
type Report struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Minutes lists the minutes that saw an outcome, by minute then currency.
	Minutes []Minute `json:"minutes"`
	// Totals has one Summary per currency, by currency, over the whole range even when
	// Minutes is truncated.
	Totals []Summary `json:"totals"`
	// Truncated: more than MaxMinutes minutes matched, and Minutes holds the first ones.
	Truncated bool `json:"truncated"`
}

// counts are the stored sums, from which rates are derived.
type counts struct {
	succeeded, failed, volume, refunds, refunded, successSeconds int64
}

func ratio(num, den int64) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

func (c counts) summary(currency string) Summary {
	return Summary{
		Currency: currency, Volume: c.volume, Count: c.succeeded, Failed: c.failed,
		RefundsSucceeded: c.refunds, RefundedAmount: c.refunded,
		SuccessRate:         ratio(c.succeeded, c.succeeded+c.failed),
		RefundRate:          ratio(c.refunded, c.volume),
		AvgSecondsToSuccess: ratio(c.successSeconds, c.succeeded),
	}
}

func (c counts) minute(at time.Time, currency string) Minute {
	s := c.summary(currency)
	return Minute{
		Minute: at.UTC(), Currency: currency, Volume: s.Volume, Count: s.Count, Failed: s.Failed,
		RefundsSucceeded: s.RefundsSucceeded, RefundedAmount: s.RefundedAmount,
		SuccessRate: s.SuccessRate, RefundRate: s.RefundRate, AvgSecondsToSuccess: s.AvgSecondsToSuccess,
	}
}

// Minutes reports merchant's minutes that start in [from, to), in currency or, when currency
// is "", in every currency. The range may not be longer than MaxRange: ErrBadRange.
func (s *Store) Minutes(ctx context.Context, merchant, currency string, from, to time.Time) (Report, error) {
	if merchant == "" {
		return Report{}, fmt.Errorf("%w: no merchant", ErrBadRange)
	}
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return Report{}, fmt.Errorf("%w: from %s to %s", ErrBadRange, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > MaxRange {
		return Report{}, fmt.Errorf("%w: %s is longer than %s", ErrBadRange, to.Sub(from), MaxRange)
	}
	if currency != "" {
		c, err := money.ParseCurrency(currency)
		if err != nil {
			return Report{}, fmt.Errorf("%w: %w", ErrBadRange, err)
		}
		currency = c.String()
	}
	report := Report{From: from.UTC(), To: to.UTC(), Minutes: []Minute{}, Totals: []Summary{}}
	// One snapshot for both queries, so that the totals are the sums of the minutes even
	// while events are being applied.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT minute, currency, payments_succeeded, payments_failed, volume, refunds_succeeded,
			       refunded_amount, success_seconds
			FROM analytics_minutes
			WHERE merchant_id = $1 AND ($2 = '' OR currency = $2) AND minute >= $3 AND minute < $4
			ORDER BY minute, currency
			LIMIT $5`, merchant, currency, from, to, MaxMinutes+1)
		if err != nil {
			return fmt.Errorf("query minutes: %w", err)
		}
		var (
			at  time.Time
			cur string
			c   counts
		)
		_, err = pgx.ForEachRow(rows, []any{&at, &cur, &c.succeeded, &c.failed, &c.volume, &c.refunds, &c.refunded, &c.successSeconds}, func() error {
			report.Minutes = append(report.Minutes, c.minute(at, cur))
			return nil
		})
		if err != nil {
			return fmt.Errorf("read minutes: %w", err)
		}
		if len(report.Minutes) > MaxMinutes {
			report.Minutes, report.Truncated = report.Minutes[:MaxMinutes], true
		}

		rows, err = tx.Query(ctx, `
			SELECT currency, sum(payments_succeeded)::bigint, sum(payments_failed)::bigint,
			       sum(volume)::bigint, sum(refunds_succeeded)::bigint, sum(refunded_amount)::bigint,
			       sum(success_seconds)::bigint
			FROM analytics_minutes
			WHERE merchant_id = $1 AND ($2 = '' OR currency = $2) AND minute >= $3 AND minute < $4
			GROUP BY currency
			ORDER BY currency`, merchant, currency, from, to)
		if err != nil {
			return fmt.Errorf("query totals: %w", err)
		}
		_, err = pgx.ForEachRow(rows, []any{&cur, &c.succeeded, &c.failed, &c.volume, &c.refunds, &c.refunded, &c.successSeconds}, func() error {
			report.Totals = append(report.Totals, c.summary(cur))
			return nil
		})
		if err != nil {
			return fmt.Errorf("read totals: %w", err)
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("analytics: minutes of %s: %w", merchant, err)
	}
	return report, nil
}
