package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/schemas"
)

func TestWebhookEndpointURLsAreCheckedAgainstSSRF(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ url, code string }{
		{"https://127.0.0.1/hook", codeWebhookURLForbidden},
		{"https://169.254.169.254/latest/meta-data/", codeWebhookURLForbidden},
		{"https://10.0.0.7/hook", codeWebhookURLForbidden},
		{"https://[::1]/hook", codeWebhookURLForbidden},
		{"https://localhost/hook", codeWebhookURLForbidden},
		{"https://93.184.215.14:8443/hook", codeWebhookURLForbidden}, // 443 only
		{"https://93.184.215.14:22/hook", codeWebhookURLForbidden},
		{"http://93.184.215.14/hook", codeWebhookURLInvalid}, // https only
		{"https://user:pw@93.184.215.14/hook", codeWebhookURLInvalid},
		{"not a url", codeWebhookURLInvalid},
	} {
		r := f.do(t, http.MethodPost, "/v1/webhook_endpoints", f.key, "", `{"url":"`+c.url+`","enabled_events":["*"]}`)
		if r.status != http.StatusBadRequest || r.errorCode() != c.code || r.errorField("param") != "url" {
			t.Errorf("%s: %d %s, want 400 %s", c.url, r.status, r.raw, c.code)
		}
	}
}

func TestWebhookEndpointLifecycle(t *testing.T) {
	f := newFixture(t)
	bad := f.do(t, http.MethodPost, "/v1/webhook_endpoints", f.key, "", `{"url":"https://93.184.215.14/hook","enabled_events":["payment.exploded"]}`)
	if bad.status != http.StatusBadRequest || bad.errorField("param") != "enabled_events" {
		t.Fatalf("unknown event type: %d %s", bad.status, bad.raw)
	}
	created := f.do(t, http.MethodPost, "/v1/webhook_endpoints", f.key, "",
		`{"url":"https://93.184.215.14/hook","enabled_events":["payment.succeeded","refund.succeeded","payment.succeeded"]}`)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	id, _ := created.body["id"].(string)
	secret, _ := created.body["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || len(created.body["enabled_events"].([]any)) != 2 {
		t.Fatalf("created %s: want a whsec_ secret and the two event types", created.raw)
	}
	got := f.do(t, http.MethodGet, "/v1/webhook_endpoints/"+id, f.key, "", "")
	if got.status != http.StatusOK || got.body["secret"] != nil {
		t.Fatalf("get: %d %s; the secret is shown once only", got.status, got.raw)
	}
	rolled := f.do(t, http.MethodPost, "/v1/webhook_endpoints/"+id+"/roll_secret", f.key, "", `{"expires_in_seconds":3600}`)
	if rolled.status != http.StatusOK || rolled.body["secret"] == secret || rolled.body["previous_secret_expires"] == nil {
		t.Fatalf("roll: %d %s; want a new secret and the old one's expiry", rolled.status, rolled.raw)
	}
	log := f.do(t, http.MethodGet, "/v1/webhook_endpoints/"+id+"/deliveries", f.key, "", "")
	if log.status != http.StatusOK || len(log.body["data"].([]any)) != 0 {
		t.Fatalf("deliveries: %d %s", log.status, log.raw)
	}
	disabled := f.do(t, http.MethodPost, "/v1/webhook_endpoints/"+id+"/disable", f.key, "", "")
	if disabled.status != http.StatusOK || disabled.body["status"] != "disabled" {
		t.Fatalf("disable: %d %s", disabled.status, disabled.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/webhook_endpoints/"+id+"/roll_secret", f.key, "", ""); r.errorCode() != codeWebhookEndpointDisabled {
		t.Errorf("roll a disabled endpoint: %d %s", r.status, r.raw)
	}
	// Creations racing at the limit: exactly the limit get through (the disabled one does
	// not count).
	const extra = 8
	var created201, refused400 atomic.Int32
	var wg sync.WaitGroup
	for range webhooks.MaxEndpoints + extra {
		wg.Go(func() {
			switch r := f.do(t, http.MethodPost, "/v1/webhook_endpoints", f.key, "", `{"url":"https://93.184.215.14/h","enabled_events":["*"]}`); r.status {
			case http.StatusCreated:
				created201.Add(1)
			case http.StatusBadRequest:
				refused400.Add(1)
			default:
				t.Errorf("racing creation: %d %s", r.status, r.raw)
			}
		})
	}
	wg.Wait()
	if created201.Load() != webhooks.MaxEndpoints || refused400.Load() != extra {
		t.Errorf("%d racing creations: %d created, %d refused; want %d and %d",
			webhooks.MaxEndpoints+extra, created201.Load(), refused400.Load(), webhooks.MaxEndpoints, extra)
	}
	for _, path := range []string{"/v1/webhook_endpoints/we_nope", "/v1/webhook_deliveries/whd_aaaaaaaaaaaaaaaaaaaaaaaa"} {
		if r := f.do(t, http.MethodGet, path, f.key, "", ""); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
	}
}

// Redeliveries on request are limited per endpoint (10 a minute): each one sends the event
// again, and a loop in a merchant's code must not make Durapay flood its endpoint.
func TestRedeliveriesAreRateLimitedPerEndpoint(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	store := f.srv.webhookStore()
	delivered := func(url string) string {
		t.Helper()
		e, err := store.CreateEndpoint(ctx, f.merchant, url, "", []string{"*"})
		if err != nil {
			t.Fatal(err)
		}
		id, err := store.CreateDelivery(ctx, f.merchant, e.ID, schemas.Event{ID: "evt_" + e.ID, Type: schemas.EventPaymentSucceeded}, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.RecordAttempt(ctx, schemas.WebhookAttemptResult{DeliveryID: id, Attempt: 1, StatusCode: 200, Succeeded: true}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	busy, other := delivered("https://93.184.215.14/busy"), delivered("https://93.184.215.14/other")
	for i := range 10 {
		if r := f.do(t, http.MethodPost, "/v1/webhook_deliveries/"+busy+"/redeliver", f.key, "", ""); r.status != http.StatusCreated {
			t.Fatalf("redelivery %d: %d %s", i+1, r.status, r.raw)
		}
	}
	r := f.do(t, http.MethodPost, "/v1/webhook_deliveries/"+busy+"/redeliver", f.key, "redeliver-11", "")
	if r.status != http.StatusTooManyRequests || r.errorCode() != codeRateLimited || r.header.Get("Retry-After") == "" {
		t.Errorf("the 11th redelivery in a minute: %d %s (Retry-After %q), want 429 rate_limited with Retry-After", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if r := f.do(t, http.MethodPost, "/v1/webhook_deliveries/"+other+"/redeliver", f.key, "", ""); r.status != http.StatusCreated {
		t.Errorf("a redelivery to another endpoint: %d %s, want 201", r.status, r.raw)
	}
	var n int
	if err := f.srv.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE redelivery_of = $1`, busy).Scan(&n); err != nil || n != 10 {
		t.Errorf("%d redeliveries recorded (%v), want 10", n, err)
	}
}

func TestNotificationPreferences(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodGet, "/v1/notification_preferences", f.key, "", "")
	if r.status != http.StatusOK || r.body["email_receipts"] != true {
		t.Fatalf("defaults: %d %s", r.status, r.raw)
	}
	r = f.do(t, http.MethodPost, "/v1/notification_preferences", f.key, "", `{"sms_events":["payment.failed"],"daily_sms_cap":5}`)
	if r.status != http.StatusOK || r.body["email_receipts"] != true || r.body["daily_sms_cap"] != float64(5) {
		t.Fatalf("partial update: %d %s; want the other fields kept", r.status, r.raw)
	}
	for _, body := range []string{`{"sms_events":["payment.exploded"]}`, `{"daily_email_cap":-1}`, `{"daily_sms_cap":1000001}`, `{"colour":"red"}`} {
		if r := f.do(t, http.MethodPost, "/v1/notification_preferences", f.key, "", body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", body, r.status, r.raw)
		}
	}
}

// The platform sets the SMS cap (SMS_DAILY_CAP): a merchant may lower its own, not raise it,
// and a higher cap stored before the limit existed reads, and is enforced, as the limit.
func TestNotificationPreferencesStayWithinThePlatformSMSCap(t *testing.T) {
	f := newFixture(t)
	if _, err := f.srv.pool.Exec(context.Background(), `INSERT INTO notification_preferences (merchant_id, daily_sms_cap) VALUES ($1, 50000)`, f.merchant); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, http.MethodGet, "/v1/notification_preferences", f.key, "", ""); r.status != http.StatusOK || r.body["daily_sms_cap"] != float64(100) {
		t.Errorf("a stored cap above the platform's: %d %s, want daily_sms_cap 100", r.status, r.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/notification_preferences", f.key, "", `{"email_refunds":false}`); r.status != http.StatusOK || r.body["daily_sms_cap"] != float64(100) {
		t.Errorf("an update of another field: %d %s, want 200 with daily_sms_cap 100", r.status, r.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/notification_preferences", f.key, "", `{"daily_sms_cap":101}`); r.status != http.StatusBadRequest || r.errorCode() != codeParameterInvalid || r.errorField("param") != "daily_sms_cap" {
		t.Errorf("daily_sms_cap above the platform's cap: %d %s, want 400 parameter_invalid", r.status, r.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/notification_preferences", f.key, "", `{"daily_sms_cap":7}`); r.status != http.StatusOK || r.body["daily_sms_cap"] != float64(7) {
		t.Errorf("a lower cap: %d %s, want 200", r.status, r.raw)
	}
}

func TestAnalyticsRanges(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodGet, "/v1/analytics/minutes", f.key, "", "")
	if r.status != http.StatusOK || r.body["minutes"] == nil {
		t.Fatalf("default range: %d %s", r.status, r.raw)
	}
	for _, q := range []string{"?from=2026-01-01&to=2026-03-01", "?from=yesterday", "?currency=zzz", "?from=2026-02-01&to=2026-01-01"} {
		if r := f.do(t, http.MethodGet, "/v1/analytics/minutes"+q, f.key, "", ""); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", q, r.status, r.raw)
		}
	}
}

// An operator lists the sends a notifier left unconfirmed and resolves one; young claims
// (being sent now) are not listed, and a resolved send cannot be resolved again.
func TestUnconfirmedSends(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	staffKey, _, err := merchants.IssueStaffKey(ctx, f.srv.pool, "alice", time.Hour, merchants.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	for event, age := range map[string]string{"ev_stuck_" + f.merchant: "1 hour", "ev_now_" + f.merchant: "1 second"} {
		if _, err := f.srv.pool.Exec(ctx, `INSERT INTO notification_sends (event_id, channel, recipient_hash, merchant_id, event_type, template, status, updated_at)
			VALUES ($1, 'email', sha256('ada@example.com'), $2, 'payment.succeeded', 'receipt', 'sending', now() - $3::interval)`, event, f.merchant, age); err != nil {
			t.Fatal(err)
		}
	}
	list := f.do(t, http.MethodGet, "/v1/admin/notifications/unconfirmed", staffKey, "", "")
	var mine []map[string]any
	for _, d := range list.body["data"].([]any) {
		if d := d.(map[string]any); d["merchant"] == f.merchant {
			mine = append(mine, d)
		}
	}
	if list.status != http.StatusOK || len(mine) != 1 || mine[0]["event"] != "ev_stuck_"+f.merchant || mine[0]["template"] != "receipt" {
		t.Fatalf("list: %d %v", list.status, mine)
	}
	if r := f.do(t, http.MethodGet, "/v1/admin/notifications/unconfirmed", f.key, "", ""); r.status != http.StatusForbidden {
		t.Errorf("a merchant listing: %d", r.status)
	}
	body := fmt.Sprintf(`{"event":%q,"channel":"email","recipient_hash":%q,"outcome":"sent","reason":"SES shows it delivered"}`, mine[0]["event"], mine[0]["recipient_hash"])
	if r := f.do(t, http.MethodPost, "/v1/admin/notifications/unconfirmed/resolve", staffKey, "", body); r.status != http.StatusOK || r.body["status"] != "sent" {
		t.Fatalf("resolve: %d %s", r.status, r.raw)
	}
	if r := f.do(t, http.MethodPost, "/v1/admin/notifications/unconfirmed/resolve", staffKey, "", body); r.errorCode() != codeResourceMissing {
		t.Errorf("resolve again: %d %s", r.status, r.raw)
	}
	var status, note string
	if err := f.srv.pool.QueryRow(ctx, `SELECT status, error FROM notification_sends WHERE event_id = $1`, mine[0]["event"]).Scan(&status, &note); err != nil || status != "sent" || !strings.Contains(note, "alice") {
		t.Errorf("stored %q %q %v", status, note, err)
	}
	for _, bad := range []string{`{"event":"e","channel":"pigeon","recipient_hash":"00","outcome":"sent"}`, `{"event":"e","channel":"email","recipient_hash":"00","outcome":"resent"}`,
		`{"channel":"email","outcome":"sent"}`, `{"event":"e","channel":"email","recipient_hash":"zz","outcome":"sent"}`} {
		if r := f.do(t, http.MethodPost, "/v1/admin/notifications/unconfirmed/resolve", staffKey, "", bad); r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
			t.Errorf("%s: %d %s", bad, r.status, r.raw)
		}
	}
}
