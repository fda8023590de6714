// Package fees is Durapay's fee model: what the platform earns on each captured payment.
//
// A plan is a percentage plus a fixed part in the currency's minor units. The fee on a
// captured amount is
//
//	fee = round_half_away_from_zero(amount × percent) + fixed, at most the amount
//
// computed in decimal (never float) and rounded once, to the currency's minor unit. That is
// the one rounding rule of Durapay's money.
package fees

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas/money"
)

// Plan is a merchant's fee plan in one currency.
type Plan struct {
	Percent    decimal.Decimal
	FixedMinor int64
}

// Fee is the plan's fee on a captured amount, in the amount's currency.
func (p Plan) Fee(captured money.Amount) money.Amount {
	variable := decimal.NewFromInt(captured.Minor).Mul(p.Percent).Round(0).IntPart() // half away from zero
	return money.Amount{Minor: min(variable+p.FixedMinor, captured.Minor), Currency: captured.Currency}
}

// PlanFor finds the plan for a merchant and currency: the merchant's own, else the
// platform's for the currency, else the platform's default.
func PlanFor(ctx context.Context, q pg.Querier, merchantID string, currency money.Currency) (Plan, error) {
	var p Plan
	err := q.QueryRow(ctx, `
		SELECT percent, fixed_minor FROM fee_plans
		 WHERE (merchant_id = $1 OR merchant_id IS NULL) AND currency IN ($2, '*')
		 ORDER BY merchant_id IS NULL, currency = '*' LIMIT 1`, merchantID, string(currency)).Scan(&p.Percent, &p.FixedMinor)
	if errors.Is(err, pgx.ErrNoRows) {
		return Plan{}, fmt.Errorf("no fee plan for %s in %s (the platform default is missing)", merchantID, currency)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("read fee plan of %s: %w", merchantID, err)
	}
	return p, nil
}

// SetPlan gives a merchant its own plan in a currency.
func SetPlan(ctx context.Context, q pg.Querier, merchantID string, currency money.Currency, p Plan) error {
	_, err := q.Exec(ctx, `
		INSERT INTO fee_plans (merchant_id, currency, percent, fixed_minor) VALUES ($1, $2, $3, $4)
		ON CONFLICT (merchant_id, currency) DO UPDATE SET percent = EXCLUDED.percent, fixed_minor = EXCLUDED.fixed_minor`,
		merchantID, string(currency), p.Percent, p.FixedMinor)
	if err != nil {
		return fmt.Errorf("set fee plan of %s: %w", merchantID, err)
	}
	return nil
}

// PostCapture posts a capture and, the first time only, Durapay's fee on it, inside the
// caller's database transaction. The fee is computed from the plan in force when the capture
// is first recorded; a replay finds the capture posted and leaves both alone, so a plan
// changed meanwhile cannot make a retry disagree with what was posted.
func PostCapture(ctx context.Context, tx pgx.Tx, paymentID, merchantID, chargeID string, captured money.Amount, at time.Time) error {
	posted, err := ledger.Post(ctx, tx, ledger.Capture(paymentID, merchantID, chargeID, captured, at))
	if err != nil || !posted {
		return err
	}
	plan, err := PlanFor(ctx, tx, merchantID, captured.Currency)
	if err != nil {
		return err
	}
	if fee := plan.Fee(captured); fee.Minor > 0 {
		if _, err := ledger.Post(ctx, tx, ledger.Fee(paymentID, merchantID, fee, at)); err != nil {
			return err
		}
	}
	return nil
}
