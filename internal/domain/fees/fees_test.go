package fees_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/durapay/durapay/internal/domain/fees"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas/money"
)

func TestFeeRounding(t *testing.T) {
	t.Parallel()
	plan := fees.Plan{Percent: decimal.RequireFromString("0.015"), FixedMinor: 25}
	tests := []struct {
		amount   int64
		currency string
		want     int64
	}{
		{2000, "usd", 55}, // 30 + 25
		{1000, "usd", 40}, // 15 + 25
		{1033, "usd", 40}, // 15.495 -> 15
		{1034, "usd", 41}, // 15.51 -> 16
		{1100, "usd", 42}, // 16.5 -> 17: half away from zero
		{10, "usd", 10},   // never more than the amount
		{99999999, "usd", 1500025},
		{500, "jpy", 33},  // 7.5 -> 8, + 25 (the fixed part is in the plan's currency's minor units)
		{1250, "kwd", 44}, // 18.75 -> 19
	}
	for _, tt := range tests {
		got := plan.Fee(money.Amount{Minor: tt.amount, Currency: money.Currency(tt.currency)})
		if got.Minor != tt.want || string(got.Currency) != tt.currency {
			t.Errorf("fee on %d %s = %d %s, want %d", tt.amount, tt.currency, got.Minor, got.Currency, tt.want)
		}
	}
}

func TestPlanLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	id := merchants.NewID()
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: id, Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	check := func(currency string, wantPercent string, wantFixed int64) {
		t.Helper()
		p, err := fees.PlanFor(ctx, pool, id, money.Currency(currency))
		if err != nil || !p.Percent.Equal(decimal.RequireFromString(wantPercent)) || p.FixedMinor != wantFixed {
			t.Errorf("%s: %v %d (%v), want %s + %d", currency, p.Percent, p.FixedMinor, err, wantPercent, wantFixed)
		}
	}
	check("usd", "0.015", 25) // the platform's plan for the currency
	check("chf", "0.015", 0)  // the platform's default
	if err := fees.SetPlan(ctx, pool, id, "usd", fees.Plan{Percent: decimal.RequireFromString("0.009"), FixedMinor: 10}); err != nil {
		t.Fatal(err)
	}
	check("usd", "0.009", 10) // the merchant's own
	check("eur", "0.015", 25)
}
