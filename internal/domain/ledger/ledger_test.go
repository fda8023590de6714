package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// seed creates a merchant and a payment for the ledger's foreign keys.
func seed(t *testing.T, pool *pgxpool.Pool, merchantID, paymentID string) {
	t.Helper()
	ctx := context.Background()
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: merchantID, Name: merchantID}); err != nil {
		t.Fatal(err)
	}
	_, err := payments.Save(ctx, pool, payments.Record{
		Payment: schemas.Payment{ID: paymentID, Merchant: merchantID, Amount: 5000, Currency: "usd", Status: schemas.PaymentSucceeded,
			CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_visa", Metadata: map[string]string{}, Created: 1_700_000_000},
		IdempotencyKey: paymentID, RequestHash: "h", WorkflowID: "payment/" + merchantID + "/" + paymentID, Version: 1, UpdatedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, pool *pgxpool.Pool, txn ledger.Transaction) (bool, error) {
	t.Helper()
	var posted bool
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		var err error
		posted, err = ledger.Post(context.Background(), tx, txn)
		return err
	})
	return posted, err
}

func TestCapturePostsBalancedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	seed(t, pool, "mer_a", "pay_1")
	usd, _ := money.NewAmount(2000, "usd")
	capture := ledger.Capture("pay_1", "mer_a", "ch_1", usd, time.Unix(1_700_000_000, 0))

	for i, want := range []bool{true, false} { // the second post is a replay
		posted, err := post(t, pool, capture)
		if err != nil || posted != want {
			t.Fatalf("post #%d: posted=%v err=%v, want posted=%v", i+1, posted, err, want)
		}
	}
	clearing, _ := ledger.Balance(ctx, pool, ledger.Account{Owner: ledger.PlatformOwner, Kind: ledger.StripeClearing, Currency: "usd"})
	merchant, _ := ledger.Balance(ctx, pool, ledger.Account{Owner: "mer_a", Kind: ledger.MerchantBalance, Currency: "usd"})
	if clearing != 2000 || merchant != -2000 {
		t.Fatalf("balances: clearing %d, merchant %d; want 2000 and -2000 (owed to the merchant)", clearing, merchant)
	}

	changed := capture
	changed.Postings = []ledger.Posting{changed.Postings[0], changed.Postings[1]}
	changed.Postings[0].Amount, changed.Postings[1].Amount = 2500, -2500
	if _, err := post(t, pool, changed); !errors.Is(err, ledger.ErrConflict) {
		t.Fatalf("same ID, other amounts: err = %v, want ErrConflict", err)
	}
}

func TestUnbalancedTransactionsAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: "mer_b", Name: "B"}); err != nil {
		t.Fatal(err)
	}
	acct := func(kind ledger.AccountKind, c money.Currency) ledger.Account {
		return ledger.Account{Owner: "mer_b", Kind: kind, Currency: c}
	}
	tests := []struct {
		name     string
		postings []ledger.Posting
	}{
		{"one posting", []ledger.Posting{{acct(ledger.MerchantBalance, "usd"), 10}}},
		{"does not sum to zero", []ledger.Posting{{acct(ledger.MerchantBalance, "usd"), 10}, {acct(ledger.StripeClearing, "usd"), -9}}},
		{"balances only across currencies", []ledger.Posting{{acct(ledger.MerchantBalance, "usd"), 10}, {acct(ledger.StripeClearing, "eur"), -10}}},
		{"zero posting", []ledger.Posting{{acct(ledger.MerchantBalance, "usd"), 0}, {acct(ledger.StripeClearing, "usd"), 0}}},
	}
	for _, tt := range tests {
		txn := ledger.Transaction{ID: ledger.TransactionID(tt.name), Kind: "test", MerchantID: "mer_b", Created: time.Now(), Postings: tt.postings}
		if _, err := post(t, pool, txn); !errors.Is(err, ledger.ErrUnbalanced) {
			t.Errorf("%s: err = %v, want ErrUnbalanced", tt.name, err)
		}
	}
}

// The database enforces the rules itself, for any writer that bypasses ledger.Post.
func TestDatabaseGuardsTheLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	seed(t, pool, "mer_c", "pay_c")
	usd, _ := money.NewAmount(700, "usd")
	if _, err := post(t, pool, ledger.Capture("pay_c", "mer_c", "", usd, time.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE ledger_postings SET amount = amount * 2`); err == nil {
		t.Error("a posting was updated")
	}
	if _, err := pool.Exec(ctx, `DELETE FROM ledger_postings`); err == nil {
		t.Error("a posting was deleted")
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ledger_transactions (id, kind, merchant_id, created_at) VALUES ('ltx_raw', 'raw', 'mer_c', now())`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO ledger_postings (transaction_id, account_id, amount, currency)
			SELECT 'ltx_raw', id, 5, 'usd' FROM ledger_accounts WHERE kind = 'stripe_clearing' AND currency = 'usd'`)
		return err
	})
	if err == nil {
		t.Error("an unbalanced transaction was committed")
	}
}

// Stripe's fee moves money between the platform's own accounts only: clearing follows
// Stripe's net, and the merchant's balance stays what it was.
func TestStripeFeeIsThePlatformsCost(t *testing.T) {
	pool := pgtest.NewPool(t)
	seed(t, pool, "mer_sf", "pay_sf")
	usd := func(minor int64) money.Amount { return money.Amount{Minor: minor, Currency: "usd"} }
	at := time.Now()
	for _, txn := range []ledger.Transaction{
		ledger.Capture("pay_sf", "mer_sf", "ch_sf", usd(5000), at),
		ledger.StripeFee("ch_sf", "pay_sf", "mer_sf", usd(175), at),
	} {
		if _, err := post(t, pool, txn); err != nil {
			t.Fatal(err)
		}
	}
	if posted, err := post(t, pool, ledger.StripeFee("ch_sf", "pay_sf", "mer_sf", usd(175), at)); posted || err != nil {
		t.Errorf("booking the fee again: posted %v, %v", posted, err)
	}
	if _, err := post(t, pool, ledger.StripeFee("ch_sf", "pay_sf", "mer_sf", usd(176), at)); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("another fee for the same charge: %v, want ErrConflict", err)
	}
	sums, err := ledger.Summaries(context.Background(), pool, ledger.SummaryFilter{Merchant: "mer_sf"})
	if err != nil || len(sums) != 1 || sums[0].Net != 5000 || sums[0].Captured != 5000 {
		t.Fatalf("merchant summary %+v %v; want the capture untouched by Stripe's fee", sums, err)
	}
	var clearing, fees int64
	if err := pool.QueryRow(context.Background(), `SELECT
		coalesce(sum(p.amount) FILTER (WHERE a.kind = 'stripe_clearing'), 0), coalesce(sum(p.amount) FILTER (WHERE a.kind = 'stripe_fees'), 0)
		FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id WHERE a.owner = 'platform'`).Scan(&clearing, &fees); err != nil {
		t.Fatal(err)
	}
	if clearing != 5000-175 || fees != 175 {
		t.Errorf("platform: clearing %d, Stripe fees %d; want 4825 and 175", clearing, fees)
	}
}

// TRUNCATE fires no row trigger: the ledger's own statement trigger refuses it, on each table
// and when a cascade reaches it.
func TestLedgerRefusesTruncate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	seed(t, pool, "mer_t", "pay_t")
	usd, _ := money.NewAmount(700, "usd")
	if _, err := post(t, pool, ledger.Capture("pay_t", "mer_t", "", usd, time.Now())); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"ledger_postings", "ledger_transactions", "ledger_accounts"} {
		if _, err := pool.Exec(ctx, `TRUNCATE `+table+` CASCADE`); err == nil || !strings.Contains(err.Error(), "immutable") {
			t.Errorf("TRUNCATE %s CASCADE: %v, want the ledger's refusal", table, err)
		}
	}
	var postings int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_postings`).Scan(&postings); err != nil || postings == 0 {
		t.Errorf("%d postings left (%v)", postings, err)
	}
}
