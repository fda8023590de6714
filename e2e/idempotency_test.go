package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
)

// A refund request in flight when frontend-api dies (SIGKILL) has started its workflow and
// reserved the refund. After a restart, the same request is answered with the one refund:
// the retry reaches the refund's workflow, never a second refund.
func TestRefundRetriedAfterTheAPIWasKilledMidRequest(t *testing.T) {
	e := requireEnv(t) // not parallel: it kills the API the other tests use
	id := e.payFor(t, &e.a, "killed-api-"+t.Name(), 4000, "usd", "pm_card_visa")
	// Stripe answers the refund slowly, so that the request is in flight at the kill.
	if err := e.stack.Sandbox.InjectFault(stripesandbox.Fault{Method: http.MethodPost, PathPrefix: "/v1/refunds",
		Mode: stripesandbox.FaultLatency, LatencyMS: 3000, Times: 1}); err != nil {
		t.Fatal(err)
	}
	key := "killed-api-" + t.Name()
	body := map[string]any{"payment": id, "amount": 700}
	go e.sendAndForget(&e.a, "/v1/refunds", key, body)
	eventually(t, 10*time.Second, func() error {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM refunds WHERE id = $1 AND status = 'pending'`,
			schemas.RefundID(e.a.ID, key)).Scan(&n)
		if n != 1 {
			return errString("the refund is not reserved yet")
		}
		return nil
	})
	e.api.Kill()
	t.Log("frontend-api killed mid-request")
	if err := e.startAPI(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.call(t, &e.a, http.MethodPost, "/v1/refunds", key, body)
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("retry after the restart: %d %s", r.Status, r.Raw)
	}
	if r.Body["id"] != schemas.RefundID(e.a.ID, key) || r.Body["amount"] != 700.0 {
		t.Fatalf("retry answered another refund: %s", r.Raw)
	}
	if n := e.stripeRefunds(t, id); n != 1 {
		t.Fatalf("Stripe holds %d refunds of the payment, want 1", n)
	}
}

// A client that hangs up 50 ms into a refund request and retries it gets the refund: the
// first request carries on without its client, and the retry reaches the same workflow.
func TestRefundRetriedAfterTheClientHungUp(t *testing.T) {
	e := requireEnv(t) // not parallel: its Stripe fault must not slow other tests' refunds
	id := e.payFor(t, &e.a, "hung-up-"+t.Name(), 4000, "usd", "pm_card_visa")
	if err := e.stack.Sandbox.InjectFault(stripesandbox.Fault{Method: http.MethodPost, PathPrefix: "/v1/refunds",
		Mode: stripesandbox.FaultLatency, LatencyMS: 500, Times: 1}); err != nil {
		t.Fatal(err)
	}
	key := "hung-up-" + t.Name()
	body := map[string]any{"payment": id, "amount": 600}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.send(ctx, &e.a, "/v1/refunds", key, body); err == nil {
		t.Fatal("the request finished within 50 ms; the test needs it to be cut short")
	}
	r := e.call(t, &e.a, http.MethodPost, "/v1/refunds", key, body)
	if r.Status != http.StatusCreated || r.Body["id"] != schemas.RefundID(e.a.ID, key) {
		t.Fatalf("retry after hanging up: %d %s", r.Status, r.Raw)
	}
	if n := e.stripeRefunds(t, id); n != 1 {
		t.Fatalf("Stripe holds %d refunds of the payment, want 1", n)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// send posts a JSON body as merchant m, with an Idempotency-Key, on ctx.
func (e *stackEnv) send(ctx context.Context, m *merchant, path, idempotencyKey string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.apiURL+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(m.Key, "")
	req.Header.Set("Idempotency-Key", idempotencyKey)
	req.Header.Set("Content-Type", "application/json")
	return http.DefaultClient.Do(req)
}

// sendAndForget sends a request whose answer never comes (its server is about to die).
func (e *stackEnv) sendAndForget(m *merchant, path, idempotencyKey string, body any) {
	if resp, err := e.send(context.Background(), m, path, idempotencyKey, body); err == nil {
		resp.Body.Close()
	}
}

// stripeRefunds counts the refunds the sandbox holds for a payment's PaymentIntent.
func (e *stackEnv) stripeRefunds(t *testing.T, paymentID string) int {
	t.Helper()
	var pi string
	if err := e.pool.QueryRow(context.Background(), `SELECT stripe_payment_intent_id FROM payments WHERE id = $1`, paymentID).Scan(&pi); err != nil {
		t.Fatal(err)
	}
	sc := stripeclient.New(stripeclient.Config{SecretKey: "sk_test_e2e", APIBase: e.stack.SandboxURL, Timeout: 5 * time.Second})
	it := sc.Refunds.List(&stripe.RefundListParams{PaymentIntent: stripe.String(pi)})
	n := 0
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
