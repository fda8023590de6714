package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/schemas"
)

// payFor creates a succeeded card payment of merchant m and returns its ID.
func (e *stackEnv) payFor(t *testing.T, m *merchant, key string, amount int64, currency, pm string) string {
	t.Helper()
	r := e.call(t, m, "POST", "/v1/payments", key, map[string]any{"amount": amount, "currency": currency, "payment_method": pm})
	if r.Status != http.StatusCreated || r.Body["status"] != "succeeded" {
		t.Fatalf("payment %s: %d %s", key, r.Status, r.Raw)
	}
	return r.Body["id"].(string)
}

func TestRefunds(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	id := e.payFor(t, &e.a, "refund-"+t.Name(), 5000, "usd", "pm_card_visa")
	key := "rf1-" + t.Name()
	first := e.call(t, &e.a, "POST", "/v1/refunds", key, map[string]any{"payment": id, "amount": 1200, "reason": "requested_by_customer"})
	if first.Status != http.StatusCreated || first.Body["status"] != "succeeded" || first.Body["amount"] != 1200.0 || first.Body["stripe_refund"] == nil {
		t.Fatalf("refund: %d %s", first.Status, first.Raw)
	}
	again := e.call(t, &e.a, "POST", "/v1/refunds", key, map[string]any{"payment": id, "amount": 1200, "reason": "requested_by_customer"})
	if again.Status != http.StatusCreated || again.Body["id"] != first.Body["id"] || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the same refund again: %d %s", again.Status, again.Raw)
	}
	if r := e.call(t, &e.a, "POST", "/v1/refunds", "", map[string]any{"payment": id}); r.Status != 400 || r.errorField("code") != "idempotency_key_missing" {
		t.Fatalf("no key: %d %s", r.Status, r.Raw)
	}
	if r := e.call(t, &e.a, "POST", "/v1/refunds", "too-much-"+t.Name(), map[string]any{"payment": id, "amount": 3801}); r.Status != 400 || r.errorField("code") != "amount_too_large" {
		t.Fatalf("more than remains: %d %s", r.Status, r.Raw)
	}
	if r := e.call(t, &e.b, "POST", "/v1/refunds", "other-"+t.Name(), map[string]any{"payment": id}); r.Status != 404 {
		t.Fatalf("another merchant's payment: %d %s", r.Status, r.Raw)
	}
	rest := e.call(t, &e.a, "POST", "/v1/refunds", "rf2-"+t.Name(), map[string]any{"payment": id})
	if rest.Status != http.StatusCreated || rest.Body["amount"] != 3800.0 {
		t.Fatalf("refund of the rest: %d %s", rest.Status, rest.Raw)
	}
	p := e.call(t, &e.a, "GET", "/v1/payments/"+id, "", nil)
	if p.Body["status"] != "refunded" || p.Body["amount_refunded"] != 5000.0 {
		t.Fatalf("payment after full refund: %s", p.Raw)
	}
	list := e.call(t, &e.a, "GET", "/v1/payments/"+id+"/refunds", "", nil)
	if data, _ := list.Body["data"].([]any); list.Status != 200 || len(data) != 2 {
		t.Fatalf("refunds of the payment: %d %s", list.Status, list.Raw)
	}
	got := e.call(t, &e.a, "GET", "/v1/refunds/"+first.Body["id"].(string), "", nil)
	if got.Status != 200 || got.Body["payment"] != id {
		t.Fatalf("GET refund: %d %s", got.Status, got.Raw)
	}
	if r := e.call(t, &e.b, "GET", "/v1/refunds/"+first.Body["id"].(string), "", nil); r.Status != 404 {
		t.Fatalf("another merchant's refund: %d", r.Status)
	}
	e.expectEventsInAnyOrder(t, id, schemas.EventPaymentSucceeded, schemas.EventRefundCreated, schemas.EventRefundSucceeded,
		schemas.EventRefundCreated, schemas.EventRefundSucceeded)
	e.recordHistory(t, "refund_succeeded", schemas.RefundWorkflowID(e.a.ID, first.Body["id"].(string)))
}

func TestRefundOfAnUncapturedPayment(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	created := e.call(t, &e.a, "POST", "/v1/payments", "uncaptured-"+t.Name(), card(900, "pm_card_visa", "manual"))
	r := e.call(t, &e.a, "POST", "/v1/refunds", "rf-"+t.Name(), map[string]any{"payment": created.Body["id"]})
	if r.Status != http.StatusConflict || r.errorField("code") != "payment_not_captured" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

// Stripe fails a refund after accepting it (pm_card_refundFail): the webhook reaches the
// refund's workflow, the ledger reverses the refund, and its amount is refundable again.
func TestRefundFailedByStripeIsReversed(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	id := e.payFor(t, &e.a, "refund-fail-"+t.Name(), 3000, "usd", "pm_card_refundFail")
	r := e.call(t, &e.a, "POST", "/v1/refunds", "rf-"+t.Name(), map[string]any{"payment": id, "amount": 1000})
	if r.Status != http.StatusCreated {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	refundID := r.Body["id"].(string)
	eventually(t, 20*time.Second, func() error {
		got := e.call(t, &e.a, "GET", "/v1/refunds/"+refundID, "", nil)
		if got.Body["status"] != "failed" {
			return fmt.Errorf("refund %s", got.Raw)
		}
		return nil
	})
	p := e.call(t, &e.a, "GET", "/v1/payments/"+id, "", nil)
	if p.Body["status"] != "succeeded" || p.Body["amount_refunded"] != 0.0 {
		t.Fatalf("payment after the failed refund: %s", p.Raw)
	}
	var refundsBalance int64
	if err := e.pool.QueryRow(context.Background(), `
		SELECT coalesce(sum(p.amount), 0) FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id
		 WHERE t.refund_id = $1`, refundID).Scan(&refundsBalance); err != nil || refundsBalance != 0 {
		t.Fatalf("the refund's postings sum to %d (%v)", refundsBalance, err)
	}
	e.expectEvents(t, id, schemas.EventPaymentSucceeded, schemas.EventRefundCreated, schemas.EventRefundSucceeded, schemas.EventRefundFailed)
	e.recordHistory(t, "refund_failed", schemas.RefundWorkflowID(e.a.ID, refundID))
}

// 50 concurrent refunds of one payment, totalling more than was captured: refunded ≤
// captured, the rest refused with 400/409, the ledger balanced, and one Stripe refund per
// accepted request.
func TestFiftyConcurrentRefunds(t *testing.T) {
	e := requireEnv(t)
	id := e.payFor(t, &e.a, "fifty-"+t.Name(), 10000, "usd", "pm_card_visa")
	const n, each = 50, 300
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.call(t, &e.a, "POST", "/v1/refunds", fmt.Sprintf("fifty-%d-%s", i, t.Name()), map[string]any{"payment": id, "amount": each})
		}()
	}
	wg.Wait()
	accepted := 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusCreated:
			accepted++
		case r.Status == 400 || r.Status == 409:
		default:
			t.Errorf("unexpected answer %d %s", r.Status, r.Raw)
		}
	}
	if accepted != 10000/each {
		t.Errorf("%d refunds accepted, want %d", accepted, 10000/each)
	}
	p := e.call(t, &e.a, "GET", "/v1/payments/"+id, "", nil)
	if refunded := p.Body["amount_refunded"].(float64); refunded != float64(accepted*each) || refunded > 10000 {
		t.Errorf("amount_refunded %v, want %d", refunded, accepted*each)
	}
	stripeRefunds := 0
	for _, r := range e.stack.Sandbox.Requests() {
		if r.Method == "POST" && r.Path == "/v1/refunds" && r.Status == 200 && !r.Replayed {
			stripeRefunds += countRefundOf(e, t, r.IdempotencyKey, id)
		}
	}
	if stripeRefunds != accepted {
		t.Errorf("Stripe made %d refunds, want one per accepted request (%d)", stripeRefunds, accepted)
	}
	e.checkLedgerBalanced(t)
}

// countRefundOf says whether a Stripe refund request (by its idempotency key) belongs to
// this merchant's payment: refund keys are refund/<merchant>/<refund>/create_refund.
func countRefundOf(e *stackEnv, t *testing.T, key, paymentID string) int {
	t.Helper()
	var n int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM refunds WHERE payment_id = $1 AND workflow_id || '/create_refund' = $2`,
		paymentID, key).Scan(&n)
	return n
}

// checkLedgerBalanced proves the double-entry rule over the whole ledger.
func (e *stackEnv) checkLedgerBalanced(t *testing.T) {
	t.Helper()
	var unbalanced int
	if err := e.pool.QueryRow(context.Background(), `
		SELECT count(*) FROM (SELECT transaction_id FROM ledger_postings GROUP BY transaction_id, currency HAVING sum(amount) <> 0) u`).
		Scan(&unbalanced); err != nil || unbalanced != 0 {
		t.Fatalf("%d unbalanced ledger transactions (%v)", unbalanced, err)
	}
}

// Stripe answers idempotency_error for a refund: it parks in needs_attention like a payment,
// visible in Temporal and the admin API; an operator's retry (audited under the operator's
// identity) finds no refund at Stripe and creates it, once.
func TestRefundParksUntilAnOperatorRetries(t *testing.T) {
	e := requireEnv(t) // not parallel: its Stripe fault would hit other tests' refunds
	id := e.payFor(t, &e.a, "parked-refund-"+t.Name(), 3000, "usd", "pm_card_visa")
	if err := e.stack.Sandbox.InjectFault(stripesandbox.Fault{Method: "POST", PathPrefix: "/v1/refunds", Mode: stripesandbox.FaultIdempotencyError, Times: 1}); err != nil {
		t.Fatal(err)
	}
	created := e.call(t, &e.a, "POST", "/v1/refunds", "parked-"+t.Name(), map[string]any{"payment": id, "amount": 1000})
	if created.Status != http.StatusCreated || created.Body["status"] != "pending" {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	refundID := created.Body["id"].(string)
	admin := e.call(t, &e.staff, "GET", "/v1/admin/refunds/"+refundID, "", nil)
	attention, _ := admin.Body["attention"].(map[string]any)
	if admin.Status != 200 || attention["error_type"] != "StripeIdempotencyError" || attention["step"] != "create_refund" {
		t.Fatalf("admin view: %d %s", admin.Status, admin.Raw)
	}
	query := "RefundStatus = '" + schemas.SearchStatusNeedsAttention + "' AND WorkflowId = '" + schemas.RefundWorkflowID(e.a.ID, refundID) + "'"
	eventually(t, 15*time.Second, func() error {
		resp, err := e.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil || len(resp.Executions) != 1 {
			return fmt.Errorf("operators' query %q: %v %v", query, resp, err)
		}
		return nil
	})
	retried := e.call(t, &e.staff, "POST", "/v1/admin/refunds/"+refundID+"/retry", "retry-"+refundID, map[string]any{"reason": "Stripe support confirmed"})
	if retried.Status != 200 || retried.Body["status"] != "succeeded" || retried.Body["attention"] != nil {
		t.Fatalf("retry: %d %s", retried.Status, retried.Raw)
	}
	if r := e.call(t, &e.staff, "POST", "/v1/admin/refunds/"+refundID+"/retry", "retry2-"+refundID, nil); r.Status != 409 || r.errorField("code") != "refund_unexpected_state" {
		t.Fatalf("retrying a refund that waits for nobody: %d %s", r.Status, r.Raw)
	}
	if n := e.stripeRefunds(t, id); n != 1 {
		t.Fatalf("Stripe holds %d refunds of the payment, want 1", n)
	}
	entries, err := audit.List(context.Background(), e.pool, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var requested, applied int
	for _, a := range entries {
		switch {
		case a.Resource == refundID && a.Action == "refund.operator_retry.requested" && a.Outcome == audit.Success:
			requested++
		case a.Resource == refundID && a.Action == "refund.operator_retry" && strings.HasPrefix(a.Actor, "staff:"):
			applied++
		}
	}
	if requested != 1 || applied != 1 {
		t.Errorf("audit: %d retry requests and %d retries applied, want one of each", requested, applied)
	}
	e.recordHistory(t, "refund_parked_retried", schemas.RefundWorkflowID(e.a.ID, refundID))
}

// Concurrent duplicates of one refund create reach one workflow: one Stripe refund, and
// every answer is that refund.
func TestConcurrentDuplicateRefunds(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	id := e.payFor(t, &e.a, "dup-refund-"+t.Name(), 3000, "usd", "pm_card_visa")
	key := "dup-refund-" + t.Name()
	body := map[string]any{"payment": id, "amount": 1000}
	const n = 8
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.call(t, &e.a, http.MethodPost, "/v1/refunds", key, body)
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.Status != http.StatusCreated || r.Body["id"] != schemas.RefundID(e.a.ID, key) {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	}
	if c := e.stripeRefunds(t, id); c != 1 {
		t.Errorf("Stripe holds %d refunds of the payment, want 1", c)
	}
}
