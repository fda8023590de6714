package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/platform/breaker"
	"github.com/durapay/durapay/schemas"
)

func card(amount int64, pm, capture string) map[string]any {
	body := map[string]any{"amount": amount, "currency": "usd", "payment_method": pm}
	if capture != "" {
		body["capture_method"] = capture
	}
	return body
}

// waitStatus reads the payment until it has the status, and returns it.
func (e *stackEnv) waitStatus(t *testing.T, m *merchant, id string, status schemas.PaymentStatus, timeout time.Duration) response {
	t.Helper()
	var last response
	eventually(t, timeout, func() error {
		last = e.call(t, m, "GET", "/v1/payments/"+id, "", nil)
		if last.Body["status"] != string(status) {
			return fmt.Errorf("payment %s: %d %s, want status %s", id, last.Status, last.Raw, status)
		}
		return nil
	})
	return last
}

// eventsFor reads every event on the payments topic about a payment, in order.
func (e *stackEnv) eventsFor(t *testing.T, paymentID string) []schemas.Event {
	t.Helper()
	return e.topicEvents(t, schemas.TopicPayments, paymentID)
}

// topicEvents reads every event on a topic under a key, in order, up to the topic's
// current end. Every one must match its JSON Schema.
func (e *stackEnv) topicEvents(t *testing.T, topic, key string) []schemas.Event {
	t.Helper()
	var out []schemas.Event
	for partition := 0; partition < 3; partition++ {
		conn, err := kafka.DialLeader(context.Background(), "tcp", e.stack.KafkaBrokers[0], topic, partition)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		if err != nil {
			t.Fatal(err)
		}
		first, err := conn.ReadFirstOffset()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Seek(first, kafka.SeekAbsolute); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for offset := first; offset < last; offset++ {
			msg, err := conn.ReadMessage(10 << 20)
			if err != nil {
				t.Fatal(err)
			}
			if string(msg.Key) != key {
				continue
			}
			if err := schemas.ValidateEvent(msg.Value); err != nil {
				t.Errorf("event on Kafka does not match its schema: %v", err)
			}
			var ev schemas.Event
			if err := json.Unmarshal(msg.Value, &ev); err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
		conn.Close()
	}
	return out
}

// expectEvents waits until the payment's events are exactly want, in order (consumers
// dedupe by event ID, so a republished copy counts once).
func (e *stackEnv) expectEvents(t *testing.T, paymentID string, want ...string) {
	t.Helper()
	e.awaitEvents(t, paymentID, want, func(types []string) []string { return types })
}

// expectEventsInAnyOrder is expectEvents for events of several workflows (a payment's
// refunds), which each keep their own order but interleave.
func (e *stackEnv) expectEventsInAnyOrder(t *testing.T, paymentID string, want ...string) {
	t.Helper()
	sorted := func(types []string) []string { return slices.Sorted(slices.Values(types)) }
	e.awaitEvents(t, paymentID, sorted(want), sorted)
}

func (e *stackEnv) awaitEvents(t *testing.T, paymentID string, want []string, normalize func([]string) []string) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		seen := map[string]bool{}
		var got []string
		for _, ev := range e.eventsFor(t, paymentID) {
			if !seen[ev.ID] {
				seen[ev.ID] = true
				got = append(got, ev.Type)
			}
		}
		if got = normalize(got); fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("events of %s: %v, want %v", paymentID, got, want)
		}
		return nil
	})
}

// sandboxEvents returns the sandbox's stored events about a PaymentIntent, oldest first.
func (e *stackEnv) sandboxEvents(t *testing.T, piID, typ string) []string {
	t.Helper()
	var ids []string
	for _, raw := range e.stack.Sandbox.Events(typ) {
		var ev struct {
			ID   string `json:"id"`
			Data struct {
				Object struct {
					ID string `json:"id"`
				} `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Data.Object.ID == piID {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

func TestManualCapture(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	key := "manual-" + t.Name()
	created := e.call(t, &e.a, "POST", "/v1/payments", key, card(3000, "pm_card_visa", "manual"))
	if created.Status != http.StatusCreated || created.Body["status"] != "requires_capture" || created.Body["amount_capturable"] != 3000.0 {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	id := created.Body["id"].(string)
	path := "/v1/payments/" + id + "/capture"

	if r := e.call(t, &e.a, "POST", path, "", map[string]any{"amount_to_capture": 3001}); r.Status != 400 || r.errorField("code") != "amount_too_large" {
		t.Fatalf("capture more than authorized: %d %s", r.Status, r.Raw)
	}
	if r := e.call(t, &e.b, "POST", path, "", nil); r.Status != 404 {
		t.Fatalf("another merchant's capture: %d %s", r.Status, r.Raw)
	}
	captured := e.call(t, &e.a, "POST", path, "cap-"+key, map[string]any{"amount_to_capture": 2500})
	if captured.Status != 200 || captured.Body["status"] != "succeeded" || captured.Body["amount_captured"] != 2500.0 {
		t.Fatalf("capture: %d %s", captured.Status, captured.Raw)
	}
	again := e.call(t, &e.a, "POST", path, "cap-"+key, map[string]any{"amount_to_capture": 2500})
	if again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" || again.Body["amount_captured"] != 2500.0 {
		t.Fatalf("the same capture again: %d %s", again.Status, again.Raw)
	}
	if r := e.call(t, &e.a, "POST", path, "cap2-"+key, nil); r.Status != 409 || r.errorField("code") != "payment_unexpected_state" {
		t.Fatalf("a second capture: %d %s", r.Status, r.Raw)
	}
	captures := 0
	for _, r := range e.stack.Sandbox.Requests() {
		if r.Path == "/v1/payment_intents/"+created.Body["stripe_payment_intent"].(string)+"/capture" && r.Status == 200 && !r.Replayed {
			captures++
		}
	}
	if captures != 1 {
		t.Errorf("Stripe captured %d times, want 1", captures)
	}
	e.expectEvents(t, id, schemas.EventPaymentAuthorized, schemas.EventPaymentCaptured, schemas.EventPaymentSucceeded)
	e.recordHistory(t, "partial_capture", schemas.PaymentWorkflowID(e.a.ID, id))
}

func TestCancelAnAuthorization(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	created := e.call(t, &e.a, "POST", "/v1/payments", "cancel-"+t.Name(), card(1200, "pm_card_mastercard", "manual"))
	id, _ := created.Body["id"].(string)
	canceled := e.call(t, &e.a, "POST", "/v1/payments/"+id+"/cancel", "", map[string]any{"cancellation_reason": "duplicate"})
	if canceled.Status != 200 || canceled.Body["status"] != "canceled" || canceled.Body["cancellation_reason"] != "duplicate" {
		t.Fatalf("cancel: %d %s", canceled.Status, canceled.Raw)
	}
	if r := e.call(t, &e.a, "POST", "/v1/payments/"+id+"/capture", "", nil); r.Status != 409 || r.errorField("code") != "payment_unexpected_state" {
		t.Fatalf("capturing a canceled payment: %d %s", r.Status, r.Raw)
	}
	e.expectEvents(t, id, schemas.EventPaymentAuthorized, schemas.EventPaymentCanceled)
	e.recordHistory(t, "manual_capture_canceled", schemas.PaymentWorkflowID(e.a.ID, id))
}

func TestThreeDSecureByWebhook(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	created := e.call(t, &e.a, "POST", "/v1/payments", "3ds-"+t.Name(), card(4200, "pm_card_threeDSecure2Required", ""))
	next, _ := created.Body["next_action"].(map[string]any)
	if created.Status != 201 || created.Body["status"] != "requires_action" || next["type"] == nil {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	id, pi := created.Body["id"].(string), created.Body["stripe_payment_intent"].(string)
	if err := e.stack.Sandbox.Authenticate(pi, true); err != nil { // the customer completes the challenge
		t.Fatal(err)
	}
	e.waitStatus(t, &e.a, id, schemas.PaymentSucceeded, 20*time.Second)
	e.expectEvents(t, id, schemas.EventPaymentRequiresAction, schemas.EventPaymentSucceeded)
	e.recordHistory(t, "3ds_success", schemas.PaymentWorkflowID(e.a.ID, id))
}

func TestThreeDSecureTimeout(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	created := e.call(t, &e.a, "POST", "/v1/payments", "3ds-timeout-"+t.Name(), card(900, "pm_card_authenticationRequired", ""))
	id, _ := created.Body["id"].(string)
	failed := e.waitStatus(t, &e.a, id, schemas.PaymentFailed, actionTimeout+20*time.Second)
	failure, _ := failed.Body["failure"].(map[string]any)
	if failure["code"] != "payment_intent_authentication_timeout" {
		t.Fatalf("failure %v", failure)
	}
	if ids := e.sandboxEvents(t, created.Body["stripe_payment_intent"].(string), "payment_intent.canceled"); len(ids) != 1 {
		t.Errorf("the PaymentIntent was canceled %d times at Stripe, want 1", len(ids))
	}
	e.expectEvents(t, id, schemas.EventPaymentRequiresAction, schemas.EventPaymentFailed)
	e.recordHistory(t, "3ds_timeout", schemas.PaymentWorkflowID(e.a.ID, id))
}

// The same webhook delivered three times, then an older event: one transition, and the
// right final state. (Not parallel: it switches the sandbox's deliveries off.)
func TestWebhookDuplicatesAndOrder(t *testing.T) {
	e := requireEnv(t)
	sb := e.stack.Sandbox
	if err := sb.SetWebhookMode(stripesandbox.WebhooksDrop); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sb.SetWebhookMode(stripesandbox.WebhooksDeliver) }()
	created := e.call(t, &e.a, "POST", "/v1/payments", "order-"+t.Name(), card(5100, "pm_card_threeDSecure2Required", "manual"))
	id, pi := created.Body["id"].(string), created.Body["stripe_payment_intent"].(string)
	if err := sb.Authenticate(pi, true); err != nil {
		t.Fatal(err)
	}
	older := e.sandboxEvents(t, pi, "payment_intent.requires_action")
	authorized := e.sandboxEvents(t, pi, "payment_intent.amount_capturable_updated")
	if len(older) != 1 || len(authorized) != 1 {
		t.Fatalf("sandbox events: %v %v", older, authorized)
	}
	for _, evt := range []string{authorized[0], authorized[0], authorized[0], older[0]} {
		if status, err := sb.DeliverEvent(evt); err != nil || status != 200 {
			t.Fatalf("deliver %s: %d %v", evt, status, err)
		}
	}
	e.waitStatus(t, &e.a, id, schemas.PaymentRequiresCapture, 15*time.Second)
	time.Sleep(time.Second) // room for a wrong second transition to show
	e.waitStatus(t, &e.a, id, schemas.PaymentRequiresCapture, time.Second)
	e.expectEvents(t, id, schemas.EventPaymentRequiresAction, schemas.EventPaymentAuthorized)
	var version int64
	if err := e.pool.QueryRow(context.Background(), `SELECT version FROM payments WHERE id = $1`, id).Scan(&version); err != nil || version != 2 {
		t.Fatalf("read-model version %d (%v), want 2: created, then one transition", version, err)
	}
}

// A forged or stale signature is refused, and changes nothing.
func TestWebhookSignatures(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	payload := []byte(`{"id":"evt_sig_test","object":"event","type":"payment_intent.succeeded","created":1,"api_version":"2023-10-16",` +
		`"data":{"object":{"id":"pi_x","object":"payment_intent","metadata":{"durapay_workflow_id":"payment/` + e.a.ID + `/pay_x"}}}}`)
	now := time.Now()
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"forged", stripesandbox.SignPayload(payload, now, "whsec_attacker"), 400},
		{"stale", stripesandbox.SignPayload(payload, now.Add(-10*time.Minute), webhookSecretNew), 400},
		{"from the future", stripesandbox.SignPayload(payload, now.Add(10*time.Minute), webhookSecretNew), 400},
		{"unsigned", "", 400},
		{"valid, new secret", stripesandbox.SignPayload(payload, now, webhookSecretNew), 200},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("POST", e.apiURL+"/v1/webhooks/stripe", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", tt.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
		var stored int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM stripe_events WHERE id = 'evt_sig_test'`).Scan(&stored)
		if wantStored := map[bool]int{true: 1, false: 0}[tt.want == 200]; stored != wantStored {
			t.Errorf("%s: %d stored events, want %d", tt.name, stored, wantStored)
		}
	}
}

// Webhooks lost (the endpoint down beyond Stripe's retries): the scheduled backfill reads
// Stripe's Events list and the payment still reaches its outcome.
func TestMissedWebhooksAreBackfilled(t *testing.T) {
	e := requireEnv(t)
	sb := e.stack.Sandbox
	if err := sb.SetWebhookMode(stripesandbox.WebhooksDrop); err != nil {
		t.Fatal(err)
	}
	created := e.call(t, &e.a, "POST", "/v1/payments", "missed-"+t.Name(), card(700, "pm_card_threeDSecure2Required", ""))
	id, pi := created.Body["id"].(string), created.Body["stripe_payment_intent"].(string)
	if err := sb.Authenticate(pi, true); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetWebhookMode(stripesandbox.WebhooksDeliver); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if r := e.call(t, &e.a, "GET", "/v1/payments/"+id, "", nil); r.Body["status"] != "requires_action" {
		t.Fatalf("before the backfill: %s", r.Raw)
	}
	handle := e.temporal.ScheduleClient().GetHandle(context.Background(), schemas.ScheduleStripeEventsBackfill)
	if err := handle.Trigger(context.Background(), client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, &e.a, id, schemas.PaymentSucceeded, 30*time.Second)
}

// Stripe applies a create, then the connection drops before the answer: the retry (same
// idempotency key) gets the saved answer, and one PaymentIntent exists.
func TestCreateAppliedThenConnectionDropped(t *testing.T) {
	e := requireEnv(t)
	if err := e.stack.Sandbox.InjectFault(stripesandbox.Fault{Method: "POST", PathPrefix: "/v1/payment_intents", Mode: stripesandbox.FaultDropAfterApply, Times: 1}); err != nil {
		t.Fatal(err)
	}
	key := "dropped-" + t.Name()
	r := e.call(t, &e.a, "POST", "/v1/payments", key, visa(1800))
	if r.Status != 201 || r.Body["status"] != "succeeded" {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	id := r.Body["id"].(string)
	if n := e.paymentIntentsFor(t, id); n != 1 {
		t.Fatalf("Stripe holds %d PaymentIntents for the payment, want 1", n)
	}
	applied, total := e.createsApplied(schemas.PaymentWorkflowID(e.a.ID, id) + "/create_payment_intent")
	if applied != 1 || total < 2 {
		t.Fatalf("Stripe applied %d of %d create requests, want 1 of at least 2", applied, total)
	}
}

// A burst of Stripe 500s opens the breaker: new payments get 503 with Retry-After while the
// payments in flight wait; when Stripe recovers the breaker closes, every payment succeeds
// and none is charged twice.
func TestCircuitBreakerUnderStripeOutage(t *testing.T) {
	e := requireEnv(t)
	sb := e.stack.Sandbox
	if err := sb.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/payment_intents", Mode: stripesandbox.FaultServerError, Times: -1}); err != nil {
		t.Fatal(err)
	}
	defer sb.ClearFaults()
	const inFlight = 8
	ids := make([]string, inFlight)
	var wg sync.WaitGroup
	for i := range ids {
		key := "outage-" + strconv.Itoa(i) + "-" + t.Name()
		ids[i] = schemas.PaymentID(e.a.ID, key)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.call(t, &e.a, "POST", "/v1/payments", key, visa(1000+int64(i)))
		}()
	}
	// The attempts (and retries) fail until failures are half of the recent calls: the
	// workers' breaker opens, and says so in Redis.
	eventually(t, 30*time.Second, func() error {
		open, err := breaker.OpenFor(context.Background(), e.redis, breaker.Stripe)
		if err != nil || open == 0 {
			return fmt.Errorf("breaker not open yet (%v)", err)
		}
		return nil
	})
	refused := e.call(t, &e.a, "POST", "/v1/payments", "refused-"+t.Name(), visa(100))
	if refused.Status != http.StatusServiceUnavailable || refused.errorField("code") != "provider_unavailable" || refused.Header.Get("Retry-After") == "" {
		t.Fatalf("new payment during the outage: %d %s Retry-After %q", refused.Status, refused.Raw, refused.Header.Get("Retry-After"))
	}
	sb.ClearFaults() // Stripe recovers
	wg.Wait()
	for _, id := range ids {
		e.waitStatus(t, &e.a, id, schemas.PaymentSucceeded, 60*time.Second)
		if n := e.paymentIntentsFor(t, id); n != 1 {
			t.Errorf("payment %s: %d PaymentIntents, want 1", id, n)
		}
	}
	eventually(t, 20*time.Second, func() error {
		if r := e.call(t, &e.a, "POST", "/v1/payments", "after-outage-"+t.Name(), visa(100)); r.Status != http.StatusCreated {
			return fmt.Errorf("after the outage: %d %s", r.Status, r.Raw)
		}
		return nil
	})
}

// Stripe answers idempotency_error: the payment parks in needs_attention, visible in
// Temporal; an operator retries it through the admin API and it succeeds, once.
func TestOperatorRetriesAParkedPayment(t *testing.T) {
	e := requireEnv(t)
	if err := e.stack.Sandbox.InjectFault(stripesandbox.Fault{Method: "POST", PathPrefix: "/v1/payment_intents", Mode: stripesandbox.FaultIdempotencyError, Times: 1}); err != nil {
		t.Fatal(err)
	}
	key := "parked-" + t.Name()
	created := e.call(t, &e.a, "POST", "/v1/payments", key, visa(6600))
	if created.Status != http.StatusAccepted || created.Body["status"] != "processing" {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	id := created.Body["id"].(string)
	admin := e.call(t, &e.staff, "GET", "/v1/admin/payments/"+id, "", nil)
	attention, _ := admin.Body["attention"].(map[string]any)
	if admin.Status != 200 || attention["error_type"] != "StripeIdempotencyError" || attention["step"] != "create_payment_intent" {
		t.Fatalf("admin view: %d %s", admin.Status, admin.Raw)
	}
	query := "PaymentStatus = '" + schemas.SearchStatusNeedsAttention + "' AND MerchantId = '" + e.a.ID + "'"
	eventually(t, 15*time.Second, func() error {
		resp, err := e.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil || len(resp.Executions) != 1 || resp.Executions[0].Execution.WorkflowId != schemas.PaymentWorkflowID(e.a.ID, id) {
			return fmt.Errorf("operators' query %q: %v %v", query, resp, err)
		}
		return nil
	})
	if r := e.call(t, &e.a, "POST", "/v1/admin/payments/"+id+"/retry", "", nil); r.Status != 403 {
		t.Fatalf("a merchant's key on the admin API: %d", r.Status)
	}
	retried := e.call(t, &e.staff, "POST", "/v1/admin/payments/"+id+"/retry", "retry-"+key, map[string]any{"reason": "Stripe incident 42 resolved"})
	if retried.Status != 200 || retried.Body["status"] != "succeeded" || retried.Body["attention"] != nil {
		t.Fatalf("retry: %d %s", retried.Status, retried.Raw)
	}
	if r := e.call(t, &e.staff, "POST", "/v1/admin/payments/"+id+"/retry", "retry2-"+key, nil); r.Status != 409 {
		t.Fatalf("retrying a payment that waits for nobody: %d %s", r.Status, r.Raw)
	}
	e.waitStatus(t, &e.a, id, schemas.PaymentSucceeded, 10*time.Second)
	if n := e.paymentIntentsFor(t, id); n != 1 {
		t.Fatalf("%d PaymentIntents, want 1", n)
	}
	e.recordHistory(t, "operator_retry_audited", schemas.PaymentWorkflowID(e.a.ID, id))
}

// The retention schedule, triggered, prunes old rows on the real stack and keeps young ones.
func TestRetentionSchedule(t *testing.T) {
	e := requireEnv(t)
	ctx := context.Background()
	for key, age := range map[string]time.Duration{"retention-old": 40 * 24 * time.Hour, "retention-young": time.Hour} {
		if _, err := e.pool.Exec(ctx, `INSERT INTO idempotency_records (principal, key, route, request_hash, status, created_at)
			VALUES ('e2e', $1, 'POST /v1/refunds', 'h', 200, now() - $2::interval)`, key, fmt.Sprintf("%d seconds", int(age.Seconds()))); err != nil {
			t.Fatal(err)
		}
	}
	handle := e.temporal.ScheduleClient().GetHandle(ctx, schemas.ScheduleRetention)
	if err := handle.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		rows, _ := e.pool.Query(ctx, `SELECT key FROM idempotency_records WHERE principal = 'e2e' ORDER BY key`)
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(keys) != 1 || keys[0] != "retention-young" {
			return fmt.Errorf("records left: %v; want the young one only", keys)
		}
		return nil
	})
}
