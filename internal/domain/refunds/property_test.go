package refunds_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"pgregory.net/rapid"

	"github.com/durapay/durapay/internal/domain/fees"
	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/domain/refunds"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// TestLedgerProperties is a property-based state-machine test of the money path: authorize,
// capture (full or partial) with Durapay's fee, fee plans, refunds (full, partial, too large,
// of uncaptured payments), acceptance, failure, replays of every operation under its ID, and
// reuse of an ID for a different operation. A model kept beside the real database predicts
// every outcome, and after each step the test checks, over the real database:
//
//   - every ledger transaction's postings sum to zero per currency, and so does the whole
//     ledger;
//   - each account's debits and credits, computed separately, are what the model predicts,
//     and ledger.Balance is debits − credits (the ledger's sign convention: a debit is
//     positive, a credit negative; a liability such as merchant_balance therefore has a
//     negative Balance, what is owed being credits − debits = −Balance);
//   - a merchant's balance is −(captures) + (fees), its refunds account holds the refunds
//     accepted and not failed, and each fee is the plan's, computed independently;
//   - each payment's amount_refunded is at most its amount_captured, is the sum of its
//     refunds that have not failed, and its status follows;
//   - replaying an operation with the same ID changes nothing, and the same ID with other
//     fields is an error (refunds.ErrConflict, ledger.ErrConflict).
//
// rapid runs 100 checks by default (-rapid.checks; do not go below 100 in CI). A failure
// prints its seed; replay it with
//
//	go test ./internal/refunds -run TestLedgerProperties -rapid.seed=N
//
// One database serves the whole test: each check names its merchants, payments and refunds
// with its own prefix, and looks at the ledger postings written since it started.
func TestLedgerProperties(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	platform := propPlatformPlans(t, ctx, pool)
	checks := 0
	rapid.Check(t, func(rt *rapid.T) {
		checks++
		m := newPropModel(rt, ctx, pool, fmt.Sprintf("c%d", checks), platform)
		rt.Repeat(map[string]func(*rapid.T){
			"authorize":       m.authorize,
			"capture":         m.capture(true),
			"partial capture": m.capture(false),
			"fee":             m.setFeePlan,
			"refund":          m.refund(true),
			"partial refund":  m.refund(false),
			"accept":          m.accept,
			"fail":            m.fail,
			"replay":          m.replay,
			"conflict":        m.conflict,
			"":                m.check,
		})
		propCheckWholeLedger(ctx, pool, rt.Fatalf)
	})
	propCheckWholeLedger(ctx, pool, t.Fatalf)
}

// propCurrencies have different exponents (2, 0, 3, 2); usd and eur have a platform fee plan
// of their own, jpy and kwd fall back on the platform's '*' plan.
var propCurrencies = []money.Currency{"usd", "jpy", "kwd", "eur"}

// propPlan is a fee plan with its percent in millionths (fee_plans.percent is numeric(9, 6)).
type propPlan struct{ micro, fixed int64 }

// fee is the model's own fee rule: round half away from zero of amount × percent, plus the
// fixed part, at most the amount. Integers only: amount and micro are non-negative, so
// adding half a unit before dividing rounds half away from zero.
func (p propPlan) fee(amount int64) int64 {
	variable := (amount*p.micro + 500_000) / 1_000_000
	return min(variable+p.fixed, amount)
}

type propMerchant struct {
	id    string
	plans map[money.Currency]propPlan // the merchant's own plans
}

type propPayment struct {
	id         string
	merchant   *propMerchant
	currency   money.Currency
	amount     int64
	authStatus schemas.PaymentStatus // requires_capture, failed or canceled, before any capture
	authorized payments.Record
	captured   int64 // 0 until captured
	fee        int64
	chargeID   string
	refunds    []*propRefund
}

// refunded is what the payment's refunds that have not failed add up to.
func (p *propPayment) refunded() int64 {
	var sum int64
	for _, r := range p.refunds {
		if !r.failed {
			sum += r.amount
		}
	}
	return sum
}

func (p *propPayment) status() schemas.PaymentStatus {
	switch refunded := p.refunded(); {
	case p.captured == 0:
		return p.authStatus
	case refunded == 0:
		return schemas.PaymentSucceeded
	case refunded == p.captured:
		return schemas.PaymentRefunded
	default:
		return schemas.PaymentPartiallyRefunded
	}
}

type propRefund struct {
	req           refunds.Record // as first given to Reserve
	payment       *propPayment
	amount        int64 // what Reserve reserved
	stripeID      string
	posted        bool // Accept posted it in the ledger
	succeeded     bool
	failed        bool
	reversed      bool // Fail posted its reversal
	failureReason string
}

func (r *propRefund) status() schemas.RefundStatus {
	switch {
	case r.failed:
		return schemas.RefundFailed
	case r.succeeded:
		return schemas.RefundSucceeded
	default:
		return schemas.RefundPending
	}
}

// propOp is a successful operation kept for replay.
type propOp struct {
	name string
	run  func(t *rapid.T)
}

type propTotals struct{ Debits, Credits int64 }

type propModel struct {
	ctx      context.Context
	pool     *pgxpool.Pool
	prefix   string
	platform map[money.Currency]propPlan // the platform's plans, "*" included

	merchants []*propMerchant
	payments  []*propPayment
	refunds   []*propRefund
	posted    []string // IDs of the ledger transactions this check posted
	ops       []propOp
	seq       int64

	startPosting  int64                    // postings with a larger ID are this check's
	platformStart map[ledger.Account]int64 // platform balances when the check started

	dirtyAccounts map[ledger.Account]bool
	dirtyPayments map[*propPayment]bool
}

func newPropModel(t *rapid.T, ctx context.Context, pool *pgxpool.Pool, prefix string, platform map[money.Currency]propPlan) *propModel {
	m := &propModel{ctx: ctx, pool: pool, prefix: prefix, platform: platform,
		platformStart: map[ledger.Account]int64{}, dirtyAccounts: map[ledger.Account]bool{}, dirtyPayments: map[*propPayment]bool{}}
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM ledger_postings`).Scan(&m.startPosting); err != nil {
		t.Fatal(err)
	}
	for _, c := range propCurrencies {
		for _, kind := range []ledger.AccountKind{ledger.StripeClearing, ledger.PlatformFees} {
			a := ledger.Account{Owner: ledger.PlatformOwner, Kind: kind, Currency: c}
			b, err := ledger.Balance(ctx, pool, a)
			if err != nil {
				t.Fatal(err)
			}
			m.platformStart[a] = b
		}
	}
	return m
}

func (m *propModel) tick() time.Time {
	m.seq++
	return time.Unix(1_700_000_000+m.seq, 0).UTC()
}

func (m *propModel) planFor(t *rapid.T, mer *propMerchant, c money.Currency) propPlan {
	if p, ok := mer.plans[c]; ok {
		return p
	}
	if p, ok := m.platform[c]; ok {
		return p
	}
	if p, ok := m.platform["*"]; ok {
		return p
	}
	t.Fatalf("no fee plan for %s in %s", mer.id, c)
	return propPlan{}
}

func propPick[E any](t *rapid.T, label string, xs []E) E {
	return xs[rapid.IntRange(0, len(xs)-1).Draw(t, label)]
}

func propAccounts(merchantID string, c money.Currency) (clearing, balance, refundsAcc, platformFees ledger.Account) {
	return ledger.Account{Owner: ledger.PlatformOwner, Kind: ledger.StripeClearing, Currency: c},
		ledger.Account{Owner: merchantID, Kind: ledger.MerchantBalance, Currency: c},
		ledger.Account{Owner: merchantID, Kind: ledger.Refunds, Currency: c},
		ledger.Account{Owner: ledger.PlatformOwner, Kind: ledger.PlatformFees, Currency: c}
}

func (m *propModel) touch(p *propPayment) {
	clearing, balance, refundsAcc, platformFees := propAccounts(p.merchant.id, p.currency)
	for _, a := range []ledger.Account{clearing, balance, refundsAcc, platformFees} {
		m.dirtyAccounts[a] = true
	}
	m.dirtyPayments[p] = true
}

// --- actions ---

func (m *propModel) authorize(t *rapid.T) {
	if len(m.payments) >= 12 {
		t.Skip("enough payments") // let the sequence move on to captures and refunds
	}
	var mer *propMerchant
	if len(m.merchants) == 0 || (len(m.merchants) < 4 && rapid.Bool().Draw(t, "new merchant")) {
		mer = &propMerchant{id: fmt.Sprintf("mer_%s_%d", m.prefix, len(m.merchants)), plans: map[money.Currency]propPlan{}}
		if err := merchants.Create(m.ctx, m.pool, merchants.Merchant{ID: mer.id, Name: mer.id}); err != nil {
			t.Fatal(err)
		}
		m.merchants = append(m.merchants, mer)
	} else {
		mer = propPick(t, "merchant", m.merchants)
	}
	status := schemas.PaymentRequiresCapture
	switch rapid.IntRange(0, 9).Draw(t, "authorization") {
	case 8:
		status = schemas.PaymentFailed
	case 9:
		status = schemas.PaymentCanceled
	}
	p := &propPayment{id: fmt.Sprintf("pay_%s_%d", m.prefix, len(m.payments)), merchant: mer,
		currency: propPick(t, "currency", propCurrencies), amount: propAmount(t, 100_000), authStatus: status}
	p.chargeID = "ch_" + p.id
	at := m.tick()
	p.authorized = payments.Record{
		Payment: schemas.Payment{ID: p.id, Merchant: mer.id, Amount: p.amount, Currency: string(p.currency), Status: status,
			CaptureMethod: schemas.CaptureManual, PaymentMethod: "pm_card_visa", Metadata: map[string]string{}, Created: at.Unix()},
		IdempotencyKey: p.id, RequestHash: "h_" + p.id, WorkflowID: "payment/" + mer.id + "/" + p.id, Version: 1, UpdatedAt: at,
	}
	if status == schemas.PaymentRequiresCapture {
		p.authorized.AmountCapturable = p.amount
	}
	changed, err := payments.Save(m.ctx, m.pool, p.authorized)
	if err != nil || !changed {
		t.Fatalf("save the authorized payment %s: changed %v, %v", p.id, changed, err)
	}
	m.payments = append(m.payments, p)
	m.dirtyPayments[p] = true
}

// capture captures an authorized payment: all of it, or a part (possibly all).
func (m *propModel) capture(full bool) func(*rapid.T) {
	return func(t *rapid.T) { m.doCapture(t, full) }
}

func (m *propModel) doCapture(t *rapid.T, full bool) {
	var candidates []*propPayment
	for _, p := range m.payments {
		if p.authStatus == schemas.PaymentRequiresCapture && p.captured == 0 {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 0 {
		t.Skip("no authorized payment")
	}
	p := propPick(t, "payment", candidates)
	captured := p.amount
	if !full {
		captured = propAmount(t, p.amount)
	}
	at := m.tick()
	rec := p.authorized
	rec.Status, rec.AmountCapturable, rec.AmountCaptured, rec.Version, rec.UpdatedAt = schemas.PaymentSucceeded, 0, captured, 2, at
	amount := money.Amount{Minor: captured, Currency: p.currency}
	postCapture := func(wantChanged bool) error {
		return pgx.BeginFunc(m.ctx, m.pool, func(tx pgx.Tx) error {
			changed, err := payments.Save(m.ctx, tx, rec)
			if err != nil {
				return err
			}
			if changed != wantChanged {
				return fmt.Errorf("payments.Save of version 2 of %s: changed %v, want %v", p.id, changed, wantChanged)
			}
			return fees.PostCapture(m.ctx, tx, p.id, p.merchant.id, p.chargeID, amount, at)
		})
	}
	if err := postCapture(true); err != nil {
		t.Fatalf("capture %d of %s: %v", captured, p.id, err)
	}
	plan := m.planFor(t, p.merchant, p.currency)
	p.captured, p.fee = captured, plan.fee(captured)
	m.touch(p)

	clearing, balance, _, platformFees := propAccounts(p.merchant.id, p.currency)
	captureID := ledger.TransactionID(p.id, "capture")
	m.expectTransaction(t, captureID, ledger.KindCapture, p, "", p.chargeID, map[ledger.Account]int64{clearing: captured, balance: -captured})
	m.posted = append(m.posted, captureID)
	feeID := ledger.TransactionID(p.id, "fee")
	if p.fee > 0 {
		m.expectTransaction(t, feeID, ledger.KindFee, p, "", "", map[ledger.Account]int64{balance: p.fee, platformFees: -p.fee})
		m.posted = append(m.posted, feeID)
	} else if _, err := ledger.Get(m.ctx, m.pool, feeID); !errors.Is(err, pg.ErrNotFound) {
		t.Fatalf("a zero fee (plan %+v on %d) was posted: %v", plan, captured, err)
	}
	m.ops = append(m.ops, propOp{name: "capture " + p.id, run: func(t *rapid.T) {
		if err := postCapture(false); err != nil {
			t.Fatalf("replayed capture of %s: %v", p.id, err)
		}
	}})
}

// expectTransaction checks a posted ledger transaction against what the model predicts.
func (m *propModel) expectTransaction(t *rapid.T, id, kind string, p *propPayment, refundID, externalRef string, want map[ledger.Account]int64) {
	got, err := ledger.Get(m.ctx, m.pool, id)
	if err != nil {
		t.Fatalf("read %s transaction %s: %v", kind, id, err)
	}
	postings := map[ledger.Account]int64{}
	for _, posting := range got.Postings {
		postings[posting.Account] += posting.Amount
	}
	if got.Kind != kind || got.MerchantID != p.merchant.id || got.PaymentID != p.id || got.RefundID != refundID ||
		got.ExternalRef != externalRef || len(got.Postings) != len(want) {
		t.Fatalf("%s transaction %s: %+v", kind, id, got)
	}
	if diff := cmp.Diff(want, postings); diff != "" {
		t.Fatalf("%s transaction %s of %s: postings (-want +got):\n%s", kind, id, p.id, diff)
	}
}

func (m *propModel) setFeePlan(t *rapid.T) {
	if len(m.merchants) == 0 {
		t.Skip("no merchant")
	}
	mer := propPick(t, "merchant", m.merchants)
	c := propPick(t, "currency", propCurrencies)
	plan := propPlan{micro: rapid.Int64Range(0, 99_999).Draw(t, "percent (millionths)"), fixed: rapid.Int64Range(0, 500).Draw(t, "fixed")}
	if rapid.Bool().Draw(t, "round percent") { // 0.5%, 1%, ... 9.5%: halves on round amounts
		plan.micro = 5_000 * rapid.Int64Range(0, 19).Draw(t, "half percents")
	}
	if err := fees.SetPlan(m.ctx, m.pool, mer.id, c, fees.Plan{Percent: decimal.New(plan.micro, -6), FixedMinor: plan.fixed}); err != nil {
		t.Fatal(err)
	}
	mer.plans[c] = plan
	// PlanFor agrees with the model's choice of plan, for this currency and another.
	for _, c := range []money.Currency{c, propPick(t, "other currency", propCurrencies)} {
		got, err := fees.PlanFor(m.ctx, m.pool, mer.id, c)
		want := m.planFor(t, mer, c)
		if err != nil || !got.Percent.Equal(decimal.New(want.micro, -6)) || got.FixedMinor != want.fixed {
			t.Fatalf("PlanFor(%s, %s) = %v %d, %v; want %d millionths + %d", mer.id, c, got.Percent, got.FixedMinor, err, want.micro, want.fixed)
		}
	}
}

// propAmount draws an amount in [1, most], often a round one: a multiple of 100 times a
// percent such as 1.5% lands on a half, where the fee's rounding rule shows.
func propAmount(t *rapid.T, most int64) int64 {
	if most >= 100 && rapid.Bool().Draw(t, "round amount") {
		return 100 * rapid.Int64Range(1, most/100).Draw(t, "hundreds")
	}
	return rapid.Int64Range(1, most).Draw(t, "amount")
}

func propRequestHash(paymentID string, amount int64) string {
	return fmt.Sprintf("%s/%d", paymentID, amount)
}

// refund refunds a payment, mostly a captured one: all that remains (amount 0), or a part
// that fits, or an amount that may exceed what remains.
func (m *propModel) refund(full bool) func(*rapid.T) {
	return func(t *rapid.T) { m.doRefund(t, full) }
}

func (m *propModel) doRefund(t *rapid.T, full bool) {
	if len(m.payments) == 0 {
		t.Skip("no payment")
	}
	var captured []*propPayment
	for _, p := range m.payments {
		if p.captured > 0 {
			captured = append(captured, p)
		}
	}
	from := m.payments
	if len(captured) > 0 && !rapid.Bool().Draw(t, "any payment") {
		from = captured
	}
	p := propPick(t, "payment", from)
	left := p.captured - p.refunded()
	var amount int64 // 0: all that remains
	if !full {
		switch rapid.IntRange(0, 2).Draw(t, "partial refund") {
		case 0: // fits, when anything remains
			amount = rapid.Int64Range(1, max(left, 1)).Draw(t, "amount")
		case 1: // up to the payment's amount, possibly more than remains
			amount = rapid.Int64Range(1, p.amount).Draw(t, "amount")
		case 2: // just over what remains
			amount = max(left, 0) + rapid.Int64Range(1, 100).Draw(t, "excess")
		}
	}
	at := m.tick()
	key := fmt.Sprintf("key_%d", m.seq)
	id := schemas.RefundID(p.merchant.id, key)
	req := refunds.Record{
		Refund: schemas.Refund{ID: id, Merchant: p.merchant.id, Payment: p.id, Amount: amount, Reason: "requested_by_customer",
			Metadata: map[string]string{"key": key}, Created: at.Unix()},
		IdempotencyKey: key, RequestHash: propRequestHash(p.id, amount), WorkflowID: schemas.RefundWorkflowID(p.merchant.id, id),
	}
	want := amount
	if want == 0 {
		want = left
	}
	var wantErr error
	switch {
	case p.captured == 0:
		wantErr = refunds.ErrNotCaptured
	case want <= 0 || want > left:
		wantErr = refunds.ErrExceedsRemaining
	}
	got, err := refunds.Reserve(m.ctx, m.pool, req)
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("refund %d of %s (captured %d, %d left, status %s): %v, want %v", amount, p.id, p.captured, left, p.status(), err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("refund %d of %s (captured %d, %d left): %v", amount, p.id, p.captured, left, err)
	}
	if got.ID != id || got.Amount != want || got.Currency != string(p.currency) || got.Status != schemas.RefundPending ||
		got.Payment != p.id || got.Merchant != p.merchant.id {
		t.Fatalf("refund %d of %s reserved %+v, want %d %s pending", amount, p.id, got, want, p.currency)
	}
	r := &propRefund{req: req, payment: p, amount: want, stripeID: "re_" + id[len("rfd_"):]}
	p.refunds = append(p.refunds, r)
	m.refunds = append(m.refunds, r)
	m.dirtyPayments[p] = true
	m.ops = append(m.ops, propOp{name: "reserve " + id, run: func(t *rapid.T) {
		got, err := refunds.Reserve(m.ctx, m.pool, req)
		if err != nil || got.ID != id || got.Amount != r.amount || got.Status != r.status() {
			t.Fatalf("replayed reservation of %s: %+v %v; want amount %d, %s", id, got, err, r.amount, r.status())
		}
	}})
	switch rapid.IntRange(0, 3).Draw(t, "acceptance") {
	case 1:
		m.doAccept(t, r, schemas.RefundSucceeded)
	case 2:
		m.doAccept(t, r, schemas.RefundPending)
	case 3:
		m.doAccept(t, r, schemas.RefundPending)
		m.doAccept(t, r, schemas.RefundSucceeded)
	}
}

func (m *propModel) accept(t *rapid.T) {
	if len(m.refunds) == 0 {
		t.Skip("no refund")
	}
	r := propPick(t, "refund", m.refunds)
	status := schemas.RefundPending
	if rapid.Bool().Draw(t, "succeeded") {
		status = schemas.RefundSucceeded
	}
	m.doAccept(t, r, status)
}

// doAccept accepts r, pending or succeeded; on a failed refund it must change nothing.
func (m *propModel) doAccept(t *rapid.T, r *propRefund, status schemas.RefundStatus) {
	at := m.tick()
	got, err := refunds.Accept(m.ctx, m.pool, r.req.ID, r.stripeID, status, at)
	if err != nil {
		t.Fatalf("accept %s (%s): %v", r.req.ID, status, err)
	}
	if !r.failed {
		if !r.posted {
			r.posted = true
			clearing, _, refundsAcc, _ := propAccounts(r.payment.merchant.id, r.payment.currency)
			txID := ledger.TransactionID(r.req.ID, "refund")
			m.expectTransaction(t, txID, ledger.KindRefund, r.payment, r.req.ID, r.stripeID,
				map[ledger.Account]int64{refundsAcc: r.amount, clearing: -r.amount})
			m.posted = append(m.posted, txID)
			m.touch(r.payment)
		}
		if status == schemas.RefundSucceeded {
			r.succeeded = true
		}
	}
	if got.Status != r.status() || got.Amount != r.amount {
		t.Fatalf("accept %s (%s) returned %s %d, want %s %d", r.req.ID, status, got.Status, got.Amount, r.status(), r.amount)
	}
	m.ops = append(m.ops, propOp{name: fmt.Sprintf("accept %s %s", r.req.ID, status), run: func(t *rapid.T) {
		got, err := refunds.Accept(m.ctx, m.pool, r.req.ID, r.stripeID, status, at)
		if err != nil || got.Status != r.status() {
			t.Fatalf("replayed acceptance (%s) of %s: %s %v; want %s", status, r.req.ID, got.Status, err, r.status())
		}
	}})
}

func (m *propModel) fail(t *rapid.T) {
	var candidates []*propRefund
	for _, r := range m.refunds {
		if !r.failed {
			candidates = append(candidates, r)
		}
	}
	if len(candidates) == 0 {
		t.Skip("no refund that has not failed")
	}
	r := propPick(t, "refund", candidates)
	reason := propPick(t, "reason", []string{"expired_or_canceled_card", "lost_or_stolen_card", "declined"})
	at := m.tick()
	got, err := refunds.Fail(m.ctx, m.pool, r.req.ID, reason, at)
	if err != nil {
		t.Fatalf("fail %s: %v", r.req.ID, err)
	}
	r.failed, r.failureReason = true, reason
	m.dirtyPayments[r.payment] = true
	reversalID := ledger.TransactionID(r.req.ID, "refund_reversal")
	if r.posted {
		r.reversed = true
		clearing, _, refundsAcc, _ := propAccounts(r.payment.merchant.id, r.payment.currency)
		m.expectTransaction(t, reversalID, ledger.KindRefundReversal, r.payment, r.req.ID, r.stripeID,
			map[ledger.Account]int64{refundsAcc: -r.amount, clearing: r.amount})
		m.posted = append(m.posted, reversalID)
		m.touch(r.payment)
	} else if _, err := ledger.Get(m.ctx, m.pool, reversalID); !errors.Is(err, pg.ErrNotFound) {
		t.Fatalf("failing %s, never accepted, posted a reversal: %v", r.req.ID, err)
	}
	if got.Status != schemas.RefundFailed || got.FailureReason != reason {
		t.Fatalf("fail %s returned %s %q", r.req.ID, got.Status, got.FailureReason)
	}
	m.ops = append(m.ops, propOp{name: "fail " + r.req.ID, run: func(t *rapid.T) {
		got, err := refunds.Fail(m.ctx, m.pool, r.req.ID, reason, at)
		if err != nil || got.Status != schemas.RefundFailed || got.FailureReason != r.failureReason {
			t.Fatalf("replayed failure of %s: %s %q %v", r.req.ID, got.Status, got.FailureReason, err)
		}
	}})
}

// replay repeats a successful operation, or re-posts a ledger transaction, under its ID:
// nothing may change.
func (m *propModel) replay(t *rapid.T) {
	ops := append([]propOp(nil), m.ops...)
	for _, id := range m.posted {
		ops = append(ops, propOp{name: "post " + id, run: func(t *rapid.T) {
			err := pgx.BeginFunc(m.ctx, m.pool, func(tx pgx.Tx) error {
				stored, err := ledger.Get(m.ctx, tx, id)
				if err != nil {
					return err
				}
				stored.Created = stored.Created.Add(time.Hour) // a retry happens later
				posted, err := ledger.Post(m.ctx, tx, stored)
				if err == nil && posted {
					err = errors.New("posted again")
				}
				return err
			})
			if err != nil {
				t.Fatalf("re-posting %s: %v", id, err)
			}
		}})
	}
	if len(ops) == 0 {
		t.Skip("nothing to replay")
	}
	op := propPick(t, "operation", ops)
	before := m.snapshot(t)
	op.run(t)
	if diff := cmp.Diff(before, m.snapshot(t)); diff != "" {
		t.Fatalf("replaying %s changed the database (-before +after):\n%s", op.name, diff)
	}
}

// conflict reuses an ID for a different operation: an error, and nothing changes.
func (m *propModel) conflict(t *rapid.T) {
	var kinds []string
	if len(m.refunds) > 0 {
		kinds = append(kinds, "refund")
	}
	if len(m.posted) > 0 {
		kinds = append(kinds, "ledger", "capture")
	}
	if len(kinds) == 0 {
		t.Skip("no ID in use")
	}
	before := m.snapshot(t)
	var what string
	switch propPick(t, "conflict", kinds) {
	case "refund":
		r := propPick(t, "refund", m.refunds)
		req := r.req
		switch rapid.IntRange(0, 2).Draw(t, "changed field") {
		case 0:
			what, req.RequestHash = "request hash", req.RequestHash+"/other"
		case 1:
			what = "amount"
			req.Amount = r.amount + rapid.Int64Range(1, 1000).Draw(t, "more")
			req.RequestHash = propRequestHash(req.Payment, req.Amount)
		case 2:
			var others []*propPayment
			for _, p := range m.payments {
				if p != r.payment {
					others = append(others, p)
				}
			}
			if len(others) == 0 {
				t.Skip("no other payment")
			}
			other := propPick(t, "other payment", others)
			// The request hash kept: the payment alone differs.
			what, req.Payment, req.Merchant = "payment", other.id, other.merchant.id
		}
		what = fmt.Sprintf("refund %s with another %s", req.ID, what)
		if _, err := refunds.Reserve(m.ctx, m.pool, req); !errors.Is(err, refunds.ErrConflict) {
			t.Fatalf("%s: %v, want refunds.ErrConflict", what, err)
		}
	case "ledger":
		id := propPick(t, "transaction", m.posted)
		stored, err := ledger.Get(m.ctx, m.pool, id)
		if err != nil {
			t.Fatal(err)
		}
		changed := stored
		changed.Postings = append([]ledger.Posting(nil), stored.Postings...)
		switch rapid.IntRange(0, 2).Draw(t, "changed field") {
		case 0:
			what = "amounts"
			delta := rapid.Int64Range(1, 1000).Draw(t, "delta")
			for i, p := range changed.Postings {
				if p.Amount > 0 {
					changed.Postings[i].Amount += delta
				} else {
					changed.Postings[i].Amount -= delta
				}
			}
		case 1:
			what, changed.ExternalRef = "external reference", stored.ExternalRef+"_other"
		case 2:
			what = "kind"
			var kinds []string
			for _, k := range []string{ledger.KindCapture, ledger.KindFee, ledger.KindRefund, ledger.KindRefundReversal} {
				if k != stored.Kind {
					kinds = append(kinds, k)
				}
			}
			changed.Kind = propPick(t, "kind", kinds)
		}
		what = fmt.Sprintf("ledger transaction %s (%s) with other %s", id, stored.Kind, what)
		err = pgx.BeginFunc(m.ctx, m.pool, func(tx pgx.Tx) error {
			_, err := ledger.Post(m.ctx, tx, changed)
			return err
		})
		if !errors.Is(err, ledger.ErrConflict) {
			t.Fatalf("%s: %v, want ledger.ErrConflict", what, err)
		}
	case "capture":
		var captured []*propPayment
		for _, p := range m.payments {
			if p.captured > 0 {
				captured = append(captured, p)
			}
		}
		if len(captured) == 0 {
			t.Skip("no capture")
		}
		p := propPick(t, "payment", captured)
		amount, chargeID := p.captured, p.chargeID
		if rapid.Bool().Draw(t, "other amount") {
			what, amount = "amount", p.captured+rapid.Int64Range(1, 1000).Draw(t, "more")
		} else {
			what, chargeID = "charge", chargeID+"_other"
		}
		what = fmt.Sprintf("capture of %s with another %s", p.id, what)
		err := pgx.BeginFunc(m.ctx, m.pool, func(tx pgx.Tx) error {
			return fees.PostCapture(m.ctx, tx, p.id, p.merchant.id, chargeID, money.Amount{Minor: amount, Currency: p.currency}, m.tick())
		})
		if !errors.Is(err, ledger.ErrConflict) {
			t.Fatalf("%s: %v, want ledger.ErrConflict", what, err)
		}
	}
	if diff := cmp.Diff(before, m.snapshot(t)); diff != "" {
		t.Fatalf("%s changed the database (-before +after):\n%s", what, diff)
	}
}

// --- what the database holds ---

type propSnapshot struct {
	Transactions, Postings int64
	Accounts               map[ledger.Account]propTotals
	Payments, Refunds      map[string]string
}

func (m *propModel) merchantIDs() []string {
	ids := make([]string, len(m.merchants))
	for i, mer := range m.merchants {
		ids[i] = mer.id
	}
	return ids
}

// snapshot reads what an operation could change (updated_at aside: a replayed acceptance
// sets it again).
func (m *propModel) snapshot(t *rapid.T) propSnapshot {
	s := propSnapshot{Accounts: m.accountTotals(t), Payments: map[string]string{}, Refunds: map[string]string{}}
	if err := m.pool.QueryRow(m.ctx, `SELECT (SELECT count(*) FROM ledger_transactions), (SELECT count(*) FROM ledger_postings)`).
		Scan(&s.Transactions, &s.Postings); err != nil {
		t.Fatal(err)
	}
	for id, row := range m.rows(t, `SELECT id, concat_ws(' ', status, amount_captured, amount_refunded, version)
		FROM payments WHERE merchant_id = ANY($1)`) {
		s.Payments[id] = row
	}
	for id, row := range m.rows(t, `SELECT id, concat_ws(' ', payment_id, amount, currency, status, coalesce(stripe_refund_id, '-'),
		coalesce(failure_reason, '-')) FROM refunds WHERE merchant_id = ANY($1)`) {
		s.Refunds[id] = row
	}
	return s
}

func (m *propModel) rows(t *rapid.T, query string) map[string]string {
	rows, err := m.pool.Query(m.ctx, query, m.merchantIDs())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var k, v string
	if _, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error { out[k] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// accountTotals sums, per account, the debits (positive postings) and the credits (negative
// postings, as a positive number) this check posted.
func (m *propModel) accountTotals(t *rapid.T) map[ledger.Account]propTotals {
	rows, err := m.pool.Query(m.ctx, `
		SELECT a.owner, a.kind, a.currency,
		       coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0)::bigint,
		       coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0)::bigint
		  FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
		 WHERE p.id > $1 GROUP BY 1, 2, 3`, m.startPosting)
	if err != nil {
		t.Fatal(err)
	}
	out := map[ledger.Account]propTotals{}
	var a ledger.Account
	var tot propTotals
	if _, err := pgx.ForEachRow(rows, []any{&a.Owner, &a.Kind, &a.Currency, &tot.Debits, &tot.Credits}, func() error {
		out[a] = tot
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedTotals is what the model says each account's debits and credits are.
func (m *propModel) expectedTotals() map[ledger.Account]propTotals {
	out := map[ledger.Account]propTotals{}
	add := func(a ledger.Account, debit, credit int64) {
		tot := out[a]
		tot.Debits += debit
		tot.Credits += credit
		out[a] = tot
	}
	for _, p := range m.payments {
		if p.captured == 0 {
			continue
		}
		clearing, balance, refundsAcc, platformFees := propAccounts(p.merchant.id, p.currency)
		add(clearing, p.captured, 0)
		add(balance, 0, p.captured)
		if p.fee > 0 {
			add(balance, p.fee, 0)
			add(platformFees, 0, p.fee)
		}
		for _, r := range p.refunds {
			if r.posted {
				add(refundsAcc, r.amount, 0)
				add(clearing, 0, r.amount)
			}
			if r.reversed {
				add(refundsAcc, 0, r.amount)
				add(clearing, r.amount, 0)
			}
		}
	}
	return out
}

// check is the invariant, run before and after every action.
func (m *propModel) check(t *rapid.T) {
	// Every transaction of this check balances per currency, and so does all it posted.
	var unbalanced []string
	rows, err := m.pool.Query(m.ctx, `
		SELECT transaction_id || ' ' || currency || ' ' || sum(amount) FROM ledger_postings WHERE id > $1
		 GROUP BY transaction_id, currency HAVING sum(amount) <> 0
		UNION ALL
		SELECT 'all ' || currency || ' ' || sum(amount) FROM ledger_postings WHERE id > $1
		 GROUP BY currency HAVING sum(amount) <> 0`, m.startPosting)
	if err == nil {
		unbalanced, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || len(unbalanced) > 0 {
		t.Fatalf("unbalanced postings: %v %v", unbalanced, err)
	}

	// Debits and credits of every account, as the model predicts them.
	totals := m.accountTotals(t)
	want := m.expectedTotals()
	if diff := cmp.Diff(want, totals); diff != "" {
		t.Fatalf("account debits and credits (-model +ledger):\n%s", diff)
	}
	// ledger.Balance is debits − credits (a debit is positive): for the merchant's accounts,
	// all of whose postings this check made, and for the platform's, from where they stood.
	for a := range m.dirtyAccounts {
		got, err := ledger.Balance(m.ctx, m.pool, a)
		if err != nil {
			t.Fatal(err)
		}
		tot := totals[a]
		if got != m.platformStart[a]+tot.Debits-tot.Credits {
			t.Fatalf("Balance(%+v) = %d; its debits %d and credits %d since %d", a, got, tot.Debits, tot.Credits, m.platformStart[a])
		}
	}
	// A merchant's balance is −(captures) + (fees); its refunds account holds the refunds
	// accepted and not failed.
	type key struct {
		merchant string
		currency money.Currency
	}
	captures, feeSum, live := map[key]int64{}, map[key]int64{}, map[key]int64{}
	for _, p := range m.payments {
		k := key{p.merchant.id, p.currency}
		captures[k] += p.captured
		feeSum[k] += p.fee
		for _, r := range p.refunds {
			if r.posted && !r.reversed {
				live[k] += r.amount
			}
		}
	}
	for a := range m.dirtyAccounts {
		k := key{a.Owner, a.Currency}
		var want int64
		switch a.Kind {
		case ledger.MerchantBalance:
			want = -captures[k] + feeSum[k]
		case ledger.Refunds:
			want = live[k]
		default:
			continue
		}
		if got, err := ledger.Balance(m.ctx, m.pool, a); err != nil || got != want {
			t.Fatalf("Balance(%+v) = %d, %v; want %d", a, got, err, want)
		}
	}

	// The ledger holds one transaction per capture, fee, accepted refund and reversal.
	wantKinds := map[string]int{}
	for _, p := range m.payments {
		if p.captured > 0 {
			wantKinds[ledger.KindCapture]++
		}
		if p.fee > 0 {
			wantKinds[ledger.KindFee]++
		}
		for _, r := range p.refunds {
			if r.posted {
				wantKinds[ledger.KindRefund]++
			}
			if r.reversed {
				wantKinds[ledger.KindRefundReversal]++
			}
		}
	}
	gotKinds := map[string]int{}
	for kind, n := range m.rows(t, `SELECT kind, count(*)::text FROM ledger_transactions WHERE merchant_id = ANY($1) GROUP BY kind`) {
		var count int
		if _, err := fmt.Sscan(n, &count); err != nil {
			t.Fatal(err)
		}
		gotKinds[kind] = count
	}
	if diff := cmp.Diff(wantKinds, gotKinds); diff != "" {
		t.Fatalf("ledger transactions per kind (-model +ledger):\n%s", diff)
	}

	// Payments: refunded ≤ captured, refunded = the refunds that have not failed, and the
	// status that follows; refunds as the model has them.
	snap := m.snapshot(t)
	wantPayments, wantRefunds := map[string]string{}, map[string]string{}
	for _, p := range m.payments {
		refunded := p.refunded()
		if refunded > p.captured {
			t.Fatalf("the model refunded %d of %s, captured %d", refunded, p.id, p.captured)
		}
		version := 1
		if p.captured > 0 {
			version = 2
		}
		wantPayments[p.id] = fmt.Sprintf("%s %d %d %d", p.status(), p.captured, refunded, version)
		for _, r := range p.refunds {
			stripeID, reason := "-", "-"
			if r.posted {
				stripeID = r.stripeID
			}
			if r.failed {
				reason = r.failureReason
			}
			wantRefunds[r.req.ID] = fmt.Sprintf("%s %d %s %s %s %s", p.id, r.amount, p.currency, r.status(), stripeID, reason)
		}
	}
	if diff := cmp.Diff(wantPayments, snap.Payments); diff != "" {
		t.Fatalf("payments: status, captured, refunded, version (-model +database):\n%s", diff)
	}
	if diff := cmp.Diff(wantRefunds, snap.Refunds); diff != "" {
		t.Fatalf("refunds (-model +database):\n%s", diff)
	}
	for p := range m.dirtyPayments {
		got, err := payments.Get(m.ctx, m.pool, p.merchant.id, p.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.AmountRefunded > got.AmountCaptured || got.AmountRefunded != p.refunded() || got.AmountCaptured != p.captured ||
			got.Status != p.status() {
			t.Fatalf("payment %s: %s, captured %d, refunded %d; want %s, %d, %d", p.id, got.Status, got.AmountCaptured,
				got.AmountRefunded, p.status(), p.captured, p.refunded())
		}
		list, err := refunds.ForPayment(m.ctx, m.pool, p.merchant.id, p.id)
		if err != nil || len(list) != len(p.refunds) {
			t.Fatalf("refunds of %s: %d, %v; want %d", p.id, len(list), err, len(p.refunds))
		}
		var sum int64
		for _, r := range list {
			if r.Status != schemas.RefundFailed {
				sum += r.Amount
			}
		}
		if sum != got.AmountRefunded {
			t.Fatalf("refunds of %s add up to %d, the payment says %d refunded", p.id, sum, got.AmountRefunded)
		}
	}
	clear(m.dirtyAccounts)
	clear(m.dirtyPayments)
}

// propCheckWholeLedger checks the rule over the whole ledger: every transaction's postings,
// and all postings together, sum to zero in each currency.
func propCheckWholeLedger(ctx context.Context, pool *pgxpool.Pool, fatalf func(string, ...any)) {
	rows, err := pool.Query(ctx, `
		SELECT transaction_id || ' ' || currency FROM ledger_postings GROUP BY transaction_id, currency HAVING sum(amount) <> 0
		UNION ALL
		SELECT 'all ' || currency FROM ledger_postings GROUP BY currency HAVING sum(amount) <> 0`)
	var unbalanced []string
	if err == nil {
		unbalanced, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || len(unbalanced) > 0 {
		fatalf("unbalanced in the whole ledger: %v %v", unbalanced, err)
	}
}

// propPlatformPlans reads the platform's fee plans (merchant_id NULL) straight from the
// table, for the model to choose and apply them itself.
func propPlatformPlans(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[money.Currency]propPlan {
	rows, err := pool.Query(ctx, `SELECT currency, percent::text, fixed_minor FROM fee_plans WHERE merchant_id IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	plans := map[money.Currency]propPlan{}
	var currency, percent string
	var fixed int64
	if _, err := pgx.ForEachRow(rows, []any{&currency, &percent, &fixed}, func() error {
		d, err := decimal.NewFromString(percent)
		if err != nil {
			return err
		}
		micro := d.Shift(6)
		if !micro.IsInteger() {
			return fmt.Errorf("platform percent %s has more than 6 decimals", percent)
		}
		plans[money.Currency(currency)] = propPlan{micro: micro.IntPart(), fixed: fixed}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := plans["*"]; !ok {
		t.Fatal("no platform default fee plan")
	}
	return plans
}
