// Package ledger is Durapay's double-entry ledger, the source of truth for balances.
//
// Amounts are signed minor units: a debit is positive, a credit negative, so the postings of
// every transaction sum to zero in each currency. Postings are never changed or deleted (the
// database refuses); a correction is a new, reversing transaction.
package ledger

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas/money"
)

// AccountKind names what an account holds.
type AccountKind string

const (
	// StripeClearing is the platform's receivable from Stripe: funds captured and not yet
	// paid out to Durapay. An asset: it grows with debits.
	StripeClearing AccountKind = "stripe_clearing"
	// MerchantBalance is what Durapay owes a merchant. A liability: it grows with credits.
	MerchantBalance AccountKind = "merchant_balance"
	// Refunds is what a merchant gave back to its customers: a contra-liability beside the
	// merchant's balance (it grows with debits), so that refunds are visible on their own.
	// What Durapay owes the merchant is -(merchant_balance + refunds).
	Refunds AccountKind = "refunds"
	// PlatformFees is Durapay's fee income. Revenue: it grows with credits.
	PlatformFees AccountKind = "platform_fees"
	// StripeFees is what Stripe charges the platform for processing. An expense: it grows
	// with debits.
	StripeFees AccountKind = "stripe_fees"
)

// Transaction kinds.
const (
	KindCapture        = "payment_capture"
	KindFee            = "payment_fee"
	KindRefund         = "refund"
	KindRefundReversal = "refund_reversal"
	KindStripeFee      = "stripe_fee"
)

// PlatformOwner owns the accounts that are Durapay's own rather than a merchant's.
const PlatformOwner = "platform"

// Account identifies a ledger account; the database creates it on first use.
type Account struct {
	Owner    string
	Kind     AccountKind
	Currency money.Currency
}

// Posting moves Amount minor units into (debit, positive) or out of (credit, negative) Account.
type Posting struct {
	Account Account
	Amount  int64
}

// Transaction is one balanced business operation.
type Transaction struct {
	// ID derives from the business operation (see TransactionID), so that posting the same
	// operation twice is recognised.
	ID         string
	Kind       string
	MerchantID string
	PaymentID  string
	RefundID   string
	// ExternalRef is the Stripe object the transaction mirrors (a charge ch_..., a refund
	// re_...), which reconciliation matches with Stripe's balance transactions.
	ExternalRef string
	Created     time.Time
	Postings    []Posting
}

var (
	ErrUnbalanced = errors.New("ledger transaction does not balance")
	// ErrConflict: a transaction with this ID exists with other contents.
	ErrConflict = errors.New("ledger transaction ID already used for a different transaction")
)

// TransactionID derives a transaction's ID from the operation it records.
func TransactionID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	return "ltx_" + hex.EncodeToString(h[:16])
}

// Capture records captured card funds: Stripe now owes the platform the amount (debit
// clearing) and the platform owes it to the merchant (credit the merchant's balance).
// chargeID is Stripe's charge, when known.
func Capture(paymentID, merchantID, chargeID string, amount money.Amount, at time.Time) Transaction {
	return Transaction{
		ID: TransactionID(paymentID, "capture"), Kind: KindCapture, MerchantID: merchantID, PaymentID: paymentID,
		ExternalRef: chargeID, Created: at,
		Postings: []Posting{
			{Account: Account{Owner: PlatformOwner, Kind: StripeClearing, Currency: amount.Currency}, Amount: amount.Minor},
			{Account: Account{Owner: merchantID, Kind: MerchantBalance, Currency: amount.Currency}, Amount: -amount.Minor},
		},
	}
}

// Fee records Durapay's fee on a capture: the merchant is owed less (debit its balance) and
// the platform earns it (credit fees).
func Fee(paymentID, merchantID string, fee money.Amount, at time.Time) Transaction {
	return Transaction{
		ID: TransactionID(paymentID, "fee"), Kind: KindFee, MerchantID: merchantID, PaymentID: paymentID, Created: at,
		Postings: []Posting{
			{Account: Account{Owner: merchantID, Kind: MerchantBalance, Currency: fee.Currency}, Amount: fee.Minor},
			{Account: Account{Owner: PlatformOwner, Kind: PlatformFees, Currency: fee.Currency}, Amount: -fee.Minor},
		},
	}
}

// Refund records money Stripe returned to the customer: the merchant's refunds grow (debit)
// and Stripe holds that much less for the platform (credit clearing). Durapay's fee is not
// returned on a refund.
func Refund(refundID, paymentID, merchantID, stripeRefundID string, amount money.Amount, at time.Time) Transaction {
	return Transaction{
		ID: TransactionID(refundID, "refund"), Kind: KindRefund, MerchantID: merchantID, PaymentID: paymentID, RefundID: refundID,
		ExternalRef: stripeRefundID, Created: at,
		Postings: []Posting{
			{Account: Account{Owner: merchantID, Kind: Refunds, Currency: amount.Currency}, Amount: amount.Minor},
			{Account: Account{Owner: PlatformOwner, Kind: StripeClearing, Currency: amount.Currency}, Amount: -amount.Minor},
		},
	}
}

// StripeFee records Stripe's processing fee on a charge, as Stripe's balance transaction
// states it (reconciliation books it): the platform's expense grows (debit) and Stripe holds
// that much less for it (credit clearing), so that clearing follows Stripe's net balance.
// It names the charge's merchant and payment, but the postings are the platform's alone:
// the merchant's balance and reports do not change.
func StripeFee(chargeID, paymentID, merchantID string, fee money.Amount, at time.Time) Transaction {
	return Transaction{
		ID: TransactionID(chargeID, "stripe_fee"), Kind: KindStripeFee, MerchantID: merchantID, PaymentID: paymentID,
		ExternalRef: chargeID, Created: at,
		Postings: []Posting{
			{Account: Account{Owner: PlatformOwner, Kind: StripeFees, Currency: fee.Currency}, Amount: fee.Minor},
			{Account: Account{Owner: PlatformOwner, Kind: StripeClearing, Currency: fee.Currency}, Amount: -fee.Minor},
		},
	}
}

// RefundReversal undoes a refund that Stripe reported failed after it was recorded: the
// money is back at Stripe and owed to the merchant again. Postings are never edited; this is
// the correction.
func RefundReversal(refund Transaction, at time.Time) Transaction {
	reversed := make([]Posting, len(refund.Postings))
	for i, p := range refund.Postings {
		reversed[i] = Posting{Account: p.Account, Amount: -p.Amount}
	}
	return Transaction{
		ID: TransactionID(refund.RefundID, "refund_reversal"), Kind: KindRefundReversal, MerchantID: refund.MerchantID,
		PaymentID: refund.PaymentID, RefundID: refund.RefundID, ExternalRef: refund.ExternalRef, Created: at, Postings: reversed,
	}
}

// Validate checks the double-entry rule: at least two non-zero postings summing to zero in
// each currency.
func (t Transaction) Validate() error {
	if t.ID == "" || t.Kind == "" || t.MerchantID == "" {
		return fmt.Errorf("ledger transaction needs an ID, a kind and a merchant")
	}
	if len(t.Postings) < 2 {
		return fmt.Errorf("%w: %s has %d postings", ErrUnbalanced, t.ID, len(t.Postings))
	}
	sums := map[money.Currency]int64{}
	for _, p := range t.Postings {
		if p.Amount == 0 {
			return fmt.Errorf("%w: %s has a zero posting", ErrUnbalanced, t.ID)
		}
		sums[p.Account.Currency] += p.Amount
	}
	for c, sum := range sums {
		if sum != 0 {
			return fmt.Errorf("%w: %s sums to %d in %s", ErrUnbalanced, t.ID, sum, c)
		}
	}
	return nil
}

// Post writes t inside the caller's database transaction (postings are checked for balance
// when it commits). It reports whether t was new: posting a transaction already recorded
// changes nothing, and a different transaction under a used ID is ErrConflict.
func Post(ctx context.Context, tx pgx.Tx, t Transaction) (posted bool, err error) {
	if err := t.Validate(); err != nil {
		return false, err
	}
	// ON CONFLICT DO NOTHING RETURNING: postings are written only for a transaction this call
	// inserted, so a retried activity cannot post twice.
	err = tx.QueryRow(ctx, `
		INSERT INTO ledger_transactions (id, kind, merchant_id, payment_id, refund_id, external_ref, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO NOTHING RETURNING id`,
		t.ID, t.Kind, t.MerchantID, nullable(t.PaymentID), nullable(t.RefundID), nullable(t.ExternalRef), t.Created).Scan(new(string))
	if errors.Is(err, pgx.ErrNoRows) {
		return false, sameAsStored(ctx, tx, t)
	}
	if err != nil {
		return false, fmt.Errorf("insert ledger transaction %s: %w", t.ID, err)
	}
	batch := &pgx.Batch{}
	for _, p := range t.Postings {
		batch.Queue(`INSERT INTO ledger_accounts (owner, kind, currency) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			p.Account.Owner, p.Account.Kind, p.Account.Currency)
		batch.Queue(`
			INSERT INTO ledger_postings (transaction_id, account_id, amount, currency)
			SELECT $1, id, $2, currency FROM ledger_accounts WHERE owner = $3 AND kind = $4 AND currency = $5`,
			t.ID, p.Amount, p.Account.Owner, p.Account.Kind, p.Account.Currency)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return false, fmt.Errorf("insert postings of %s: %w", t.ID, err)
	}
	return true, nil
}

// sameAsStored returns ErrConflict unless the stored transaction t.ID has t's contents.
func sameAsStored(ctx context.Context, q pg.Querier, t Transaction) error {
	stored, err := Get(ctx, q, t.ID)
	if err != nil {
		return err
	}
	if stored.Kind != t.Kind || stored.MerchantID != t.MerchantID || stored.PaymentID != t.PaymentID ||
		stored.RefundID != t.RefundID || stored.ExternalRef != t.ExternalRef ||
		!slices.Equal(sorted(stored.Postings), sorted(t.Postings)) {
		return fmt.Errorf("%w: %s", ErrConflict, t.ID)
	}
	return nil
}

func sorted(ps []Posting) []Posting {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b Posting) int {
		return cmp.Or(cmp.Compare(a.Account.Owner, b.Account.Owner), cmp.Compare(a.Account.Kind, b.Account.Kind),
			cmp.Compare(a.Account.Currency, b.Account.Currency), cmp.Compare(a.Amount, b.Amount))
	})
	return out
}

// OpenAccount creates an account before its first posting (a merchant's, at activation);
// opening an open account changes nothing.
func OpenAccount(ctx context.Context, q pg.Querier, a Account) error {
	_, err := q.Exec(ctx, `INSERT INTO ledger_accounts (owner, kind, currency) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		a.Owner, a.Kind, a.Currency)
	if err != nil {
		return fmt.Errorf("open account %s/%s/%s: %w", a.Owner, a.Kind, a.Currency, err)
	}
	return nil
}

// Get reads a transaction with its postings, or pg.ErrNotFound.
func Get(ctx context.Context, q pg.Querier, id string) (Transaction, error) {
	t := Transaction{ID: id}
	err := q.QueryRow(ctx, `
		SELECT kind, merchant_id, coalesce(payment_id, ''), coalesce(refund_id, ''), coalesce(external_ref, ''), created_at
		  FROM ledger_transactions WHERE id = $1`, id).
		Scan(&t.Kind, &t.MerchantID, &t.PaymentID, &t.RefundID, &t.ExternalRef, &t.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return Transaction{}, pg.ErrNotFound
	}
	if err != nil {
		return Transaction{}, fmt.Errorf("read ledger transaction %s: %w", id, err)
	}
	rows, err := q.Query(ctx, `
		SELECT a.owner, a.kind, a.currency, p.amount FROM ledger_postings p
		  JOIN ledger_accounts a ON a.id = p.account_id
		 WHERE p.transaction_id = $1 ORDER BY p.id`, id)
	if err != nil {
		return Transaction{}, fmt.Errorf("read postings of %s: %w", id, err)
	}
	t.Postings, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Posting, error) {
		var p Posting
		err := row.Scan(&p.Account.Owner, &p.Account.Kind, &p.Account.Currency, &p.Amount)
		return p, err
	})
	if err != nil {
		return Transaction{}, fmt.Errorf("read postings of %s: %w", id, err)
	}
	return t, nil
}

// Balance is the sum of an account's postings (debits minus credits); zero for an account
// that has none.
func Balance(ctx context.Context, q pg.Querier, a Account) (int64, error) {
	var sum int64
	err := q.QueryRow(ctx, `
		SELECT coalesce(sum(p.amount), 0)::bigint FROM ledger_postings p
		  JOIN ledger_accounts a ON a.id = p.account_id
		 WHERE a.owner = $1 AND a.kind = $2 AND a.currency = $3`, a.Owner, a.Kind, a.Currency).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("balance of %s/%s/%s: %w", a.Owner, a.Kind, a.Currency, err)
	}
	return sum, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
