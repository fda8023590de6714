package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/durapay/durapay/schemas"
)

func visa(amount int64) map[string]any {
	return map[string]any{"amount": amount, "currency": "usd", "payment_method": "pm_card_visa"}
}

// The backbone: one card payment through the API, Temporal, Stripe, Postgres and Kafka.
func TestCardPayment(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	key := "card-" + t.Name()

	created := e.call(t, &e.a, "POST", "/v1/payments", key, visa(2000))
	if created.Status != http.StatusCreated || created.Body["status"] != "succeeded" || created.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	id, _ := created.Body["id"].(string)
	pi, _ := created.Body["stripe_payment_intent"].(string)
	for field, want := range map[string]any{"amount": 2000.0, "currency": "usd", "object": "payment", "merchant": e.a.ID, "amount_captured": 2000.0} {
		if created.Body[field] != want {
			t.Errorf("%s = %v, want %v", field, created.Body[field], want)
		}
	}
	if id != schemas.PaymentID(e.a.ID, key) || pi == "" || created.Body["created"] == nil {
		t.Fatalf("id %q, stripe_payment_intent %q, created %v", id, pi, created.Body["created"])
	}

	t.Run("a retry replays the same payment and charges nothing more", func(t *testing.T) {
		again := e.call(t, &e.a, "POST", "/v1/payments", key, visa(2000))
		if again.Status != http.StatusCreated || again.Body["id"] != id || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d replayed=%q %s", again.Status, again.Header.Get("Idempotent-Replayed"), again.Raw)
		}
		workflowID := schemas.PaymentWorkflowID(e.a.ID, id)
		if applied, _ := e.createsApplied(workflowID + "/create_payment_intent"); applied != 1 {
			t.Errorf("Stripe executed %d creates, want 1", applied)
		}
		if n := e.paymentIntentsFor(t, id); n != 1 {
			t.Errorf("Stripe holds %d PaymentIntents for the payment, want 1", n)
		}
	})
	t.Run("the same key with another request is refused", func(t *testing.T) {
		r := e.call(t, &e.a, "POST", "/v1/payments", key, visa(2500))
		if r.Status != http.StatusUnprocessableEntity || r.errorField("code") != "idempotency_key_reused" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("no Idempotency-Key", func(t *testing.T) {
		r := e.call(t, &e.a, "POST", "/v1/payments", "", visa(2000))
		if r.Status != http.StatusBadRequest || r.errorField("code") != "idempotency_key_missing" {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("read from Postgres; hidden from another merchant", func(t *testing.T) {
		got := e.call(t, &e.a, "GET", "/v1/payments/"+id, "", nil)
		if got.Status != http.StatusOK || got.Body["status"] != "succeeded" || got.Body["stripe_payment_intent"] != pi {
			t.Fatalf("GET: %d %s", got.Status, got.Raw)
		}
		other := e.call(t, &e.b, "GET", "/v1/payments/"+id, "", nil)
		if other.Status != http.StatusNotFound || other.errorField("code") != "resource_missing" {
			t.Fatalf("another merchant's GET: %d %s", other.Status, other.Raw)
		}
	})
	t.Run("visible in Temporal under a readable ID with typed search attributes", func(t *testing.T) {
		query := fmt.Sprintf("WorkflowId = '%s' AND MerchantId = '%s' AND PaymentStatus = 'succeeded' AND AmountMinor = 2000 AND Currency = 'usd' AND StripePaymentIntentId = '%s'",
			schemas.PaymentWorkflowID(e.a.ID, id), e.a.ID, pi)
		eventually(t, 15*time.Second, func() error {
			resp, err := e.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
			if err != nil {
				return err
			}
			if len(resp.Executions) != 1 {
				return fmt.Errorf("visibility query %q found %d workflows", query, len(resp.Executions))
			}
			return nil
		})
	})
	t.Run("payment.succeeded on Kafka", func(t *testing.T) {
		ev, msg := e.findEvent(t, id, schemas.EventPaymentSucceeded)
		if err := schemas.ValidateEvent(msg.Value); err != nil {
			t.Error(err)
		}
		if ev.ID != schemas.EventID(id, schemas.EventPaymentSucceeded, "1") || ev.Merchant != e.a.ID {
			t.Errorf("event %s from %s: want the deterministic ID and the merchant", ev.ID, ev.Merchant)
		}
	})
	t.Run("the history in Temporal's database is encrypted", func(t *testing.T) {
		ctx := context.Background()
		it := e.temporal.GetWorkflowHistory(ctx, schemas.PaymentWorkflowID(e.a.ID, id), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		payloads := 0
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			err = proxy.VisitPayloads(ctx, ev, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
				Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
					for _, p := range ps {
						payloads++
						if string(p.Metadata["encoding"]) != "binary/encrypted" || bytes.Contains(p.Data, []byte(pi)) {
							t.Errorf("%s: a payload in clear (%s)", ev.EventType, p.Metadata["encoding"])
						}
					}
					return ps, nil
				}})
			if err != nil {
				t.Fatal(err)
			}
		}
		if payloads < 5 {
			t.Fatalf("only %d payloads in the history", payloads)
		}
	})
	e.recordHistory(t, "happy_path", schemas.PaymentWorkflowID(e.a.ID, id))
}

// A decline answers 402 with Stripe's decline code, fails the payment, publishes
// payment.failed, and is never retried.
func TestDeclinedCard(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	key := "decline-" + t.Name()
	r := e.call(t, &e.a, "POST", "/v1/payments", key, map[string]any{"amount": 1500, "currency": "eur", "payment_method": "pm_card_chargeDeclined"})
	if r.Status != http.StatusPaymentRequired || r.errorField("type") != "card_error" || r.errorField("code") != "card_declined" ||
		r.errorField("decline_code") != "generic_decline" || r.errorField("message") == "" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	id := schemas.PaymentID(e.a.ID, key)
	got := e.call(t, &e.a, "GET", "/v1/payments/"+id, "", nil)
	failure, _ := got.Body["failure"].(map[string]any)
	if got.Body["status"] != "failed" || failure["decline_code"] != "generic_decline" {
		t.Fatalf("GET: %s", got.Raw)
	}
	_, msg := e.findEvent(t, id, schemas.EventPaymentFailed)
	if err := schemas.ValidateEvent(msg.Value); err != nil {
		t.Error(err)
	}
	if applied, total := e.createsApplied(schemas.PaymentWorkflowID(e.a.ID, id) + "/create_payment_intent"); applied != 1 || total != 1 {
		t.Errorf("Stripe saw %d create requests (%d executed); a decline must not be retried", total, applied)
	}
	again := e.call(t, &e.a, "POST", "/v1/payments", key, map[string]any{"amount": 1500, "currency": "eur", "payment_method": "pm_card_chargeDeclined"})
	if again.Status != http.StatusPaymentRequired || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry of a declined create: %d replayed=%q", again.Status, again.Header.Get("Idempotent-Replayed"))
	}
	e.recordHistory(t, "decline", schemas.PaymentWorkflowID(e.a.ID, id))
}

// Concurrent duplicates of one create reach one workflow: one charge, one first answer.
func TestConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	key := "dup-" + t.Name()
	const n = 8
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.call(t, &e.a, "POST", "/v1/payments", key, visa(999))
		}()
	}
	wg.Wait()
	firsts := 0
	for _, r := range results {
		if r.Status != http.StatusCreated || r.Body["id"] != schemas.PaymentID(e.a.ID, key) {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		if r.Header.Get("Idempotent-Replayed") != "true" {
			firsts++
		}
	}
	if firsts != 1 {
		t.Errorf("%d answers claim to be the first; want exactly 1", firsts)
	}
	if c := e.paymentIntentsFor(t, schemas.PaymentID(e.a.ID, key)); c != 1 {
		t.Errorf("Stripe holds %d PaymentIntents, want 1", c)
	}
}

func TestBadInputOverHTTP(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	for _, body := range []map[string]any{
		{"amount": 0, "currency": "usd", "payment_method": "pm_card_visa"},
		{"amount": 100000000, "currency": "usd", "payment_method": "pm_card_visa"},
		{"amount": 100, "currency": "zzz", "payment_method": "pm_card_visa"},
		{"amount": 100, "currency": "jpy", "payment_method": "4242424242424242"},
	} {
		if r := e.call(t, &e.a, "POST", "/v1/payments", fmt.Sprint(body), body); r.Status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, r.Status, r.Raw)
		}
	}
	if r := e.call(t, nil, "POST", "/v1/payments", "k", visa(100)); r.Status != http.StatusUnauthorized {
		t.Errorf("no key: %d", r.Status)
	}
}
