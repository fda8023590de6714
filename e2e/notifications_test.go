package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/internal/domain/eventlog"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/schemas"
)

// newMerchant creates a merchant of its own for a test, with a contact email and phone, so
// that what the notifier sends on its behalf is the test's alone.
func (e *stackEnv) newMerchant(t *testing.T, name string) merchant {
	t.Helper()
	ctx := context.Background()
	m := merchant{ID: merchants.NewID()}
	if err := merchants.Create(ctx, e.pool, merchants.Merchant{ID: m.ID, Name: name}); err != nil {
		t.Fatal(err)
	}
	profile, err := envelope.Seal(e.dataKeys, schemas.MerchantProfile{LegalName: name, ContactEmail: "ops@" + strings.ToLower(m.ID) + ".test",
		ContactPhone: "+15550100200"}, schemas.ProfilePurpose(m.ID))
	if err != nil {
		t.Fatal(err)
	}
	// Its phone verified, as a merchant does with the code texted to it (its own tests:
	// internal/domain/notify, frontend-api), so that texts may go to it.
	if _, err := e.pool.Exec(ctx, `UPDATE merchants SET profile = $2, phone_verified_hash = $3 WHERE id = $1`,
		m.ID, profile, merchants.PhoneHash("+15550100200")); err != nil {
		t.Fatal(err)
	}
	if m.Key, _, err = merchants.IssueSecretKey(ctx, e.pool, m.ID, merchants.ModeTest); err != nil {
		t.Fatal(err)
	}
	return m
}

// endpoint registers a webhook endpoint at the receiver's path and returns its ID and secret.
func (e *stackEnv) endpoint(t *testing.T, m *merchant, path string, events ...string) (id, secret string) {
	t.Helper()
	r := e.call(t, m, "POST", "/v1/webhook_endpoints", "", map[string]any{"url": e.hooks.url(path), "enabled_events": events})
	if r.Status != http.StatusCreated {
		t.Fatalf("register endpoint %s: %d %s", path, r.Status, r.Raw)
	}
	return r.Body["id"].(string), r.Body["secret"].(string)
}

// payWithCustomer pays as m for a new customer with the given email.
func (e *stackEnv) payWithCustomer(t *testing.T, m *merchant, key, email string, amount int64) (paymentID string) {
	t.Helper()
	c := e.call(t, m, "POST", "/v1/customers", "cust-"+key, map[string]any{"email": email, "name": "Ada Lovelace"})
	if c.Status != http.StatusCreated {
		t.Fatalf("customer %s: %d %s", key, c.Status, c.Raw)
	}
	p := e.call(t, m, "POST", "/v1/payments", key, map[string]any{"amount": amount, "currency": "usd",
		"payment_method": "pm_card_visa", "customer": c.Body["id"]})
	if p.Status != http.StatusCreated || p.Body["status"] != "succeeded" {
		t.Fatalf("payment %s: %d %s", key, p.Status, p.Raw)
	}
	return p.Body["id"].(string)
}

// emailsTo lists what the SES emulator accepted for an address.
func (e *stackEnv) emailsTo(t *testing.T, to string) []devstack.SentEmail {
	t.Helper()
	all, err := devstack.SentEmails(context.Background(), e.stack.SESURL)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(all, func(m devstack.SentEmail) bool { return !slices.Contains(m.To, to) })
}

// accepted lists the requests an endpoint answered 2xx, by event ID.
func accepted(reqs []hookRequest) map[string][]hookRequest {
	out := map[string][]hookRequest{}
	for _, r := range reqs {
		if r.Status == http.StatusOK {
			out[r.EventID] = append(out[r.EventID], r)
		}
	}
	return out
}

// verify checks a delivery's signature with each secret, as a merchant would.
func verify(t *testing.T, r hookRequest, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if err := webhooks.Verify(r.Body, r.Signature, []string{s}, 5*time.Minute, time.Now()); err != nil {
			t.Errorf("delivery %s of %s: signature does not verify with %.10s...: %v", r.Delivery, r.EventType, s, err)
		}
	}
}

func TestAPaymentAndARefundNotifyOnceEach(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	m := e.newMerchant(t, "Notify & Co")
	_, secret := e.endpoint(t, &m, "/main", schemas.EventPaymentSucceeded, schemas.EventRefundSucceeded)
	if r := e.call(t, &m, "POST", "/v1/notification_preferences", "", map[string]any{"sms_events": []string{schemas.EventRefundSucceeded}}); r.Status != 200 {
		t.Fatalf("preferences: %d %s", r.Status, r.Raw)
	}
	email := "ada+" + strings.ToLower(m.ID) + "@example.test"
	paymentID := e.payWithCustomer(t, &m, "notify-1", email, 4200)
	paid := time.Now()

	// Live analytics: the payment counts within 2 seconds of its event.
	var seenAt time.Time
	eventually(t, 10*time.Second, func() error {
		r := e.call(t, &m, "GET", "/v1/analytics/minutes?currency=usd", "", nil)
		totals, _ := r.Body["totals"].([]any)
		if len(totals) != 1 || totals[0].(map[string]any)["count"] != 1.0 {
			return fmt.Errorf("analytics: %s", r.Raw)
		}
		seenAt = time.Now()
		return nil
	})
	_, msg := e.findEvent(t, paymentID, schemas.EventPaymentSucceeded)
	lag := seenAt.Sub(msg.Time)
	t.Logf("analytics showed the payment %s after its event was published (%s after the API answered)", lag.Round(time.Millisecond), seenAt.Sub(paid).Round(time.Millisecond))
	if lag > 2*time.Second {
		t.Errorf("analytics lagged the event by %s, more than 2 s", lag)
	}

	refund := e.call(t, &m, "POST", "/v1/refunds", "notify-refund-1", map[string]any{"payment": paymentID, "amount": 1200})
	if refund.Status != http.StatusCreated || refund.Body["status"] != "succeeded" {
		t.Fatalf("refund: %d %s", refund.Status, refund.Raw)
	}
	refundID := refund.Body["id"].(string)

	eventually(t, 20*time.Second, func() error {
		got := e.emailsTo(t, email)
		if len(got) < 2 {
			return fmt.Errorf("%d emails to %s so far", len(got), email)
		}
		hooks := accepted(e.hooks.received("/main"))
		if len(hooks) < 2 {
			return fmt.Errorf("%d events delivered so far", len(hooks))
		}
		return nil
	})
	time.Sleep(2 * time.Second) // time for a duplicate to show, were there one
	got := e.emailsTo(t, email)
	if len(got) != 2 {
		t.Fatalf("%d emails to the customer, want a receipt and a refund: %+v", len(got), got)
	}
	receipt, refundEmail := got[0], got[1]
	if !strings.Contains(receipt.Subject, "receipt") || !strings.Contains(receipt.Text, paymentID) || !strings.Contains(receipt.Text, "$42.00") ||
		!strings.Contains(receipt.HTML, "Notify &amp; Co") {
		t.Errorf("receipt: %q\n%s", receipt.Subject, receipt.Text)
	}
	if !strings.Contains(strings.ToLower(refundEmail.Subject), "refund") || !strings.Contains(refundEmail.Text, refundID) || !strings.Contains(refundEmail.Text, "$12.00") {
		t.Errorf("refund email: %q\n%s", refundEmail.Subject, refundEmail.Text)
	}

	hooks := accepted(e.hooks.received("/main"))
	if len(hooks) != 2 {
		t.Fatalf("endpoint got %d events, want payment.succeeded and refund.succeeded", len(hooks))
	}
	for id, reqs := range hooks {
		if len(reqs) != 1 {
			t.Errorf("event %s delivered %d times", id, len(reqs))
		}
		verify(t, reqs[0], secret)
		if err := schemas.ValidateEvent(reqs[0].Body); err != nil {
			t.Errorf("delivered body: %v", err)
		}
	}

	texts, err := devstack.ReceivedSNS(context.Background(), e.stack.SNSURL, devstack.SMSQueue)
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != 1 || !strings.Contains(texts[0], refundID) || strings.Contains(texts[0], email) {
		t.Errorf("texts %q, want one about %s", texts, refundID)
	}
}

func TestWebhookEndpointFailingFiveTimesGetsTheEventOnce(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	m := e.newMerchant(t, "Flaky Endpoint Ltd")
	endpointID, secret := e.endpoint(t, &m, "/flaky", schemas.EventPaymentSucceeded)
	e.hooks.failNext("/flaky", 5)
	paymentID := e.payWithCustomer(t, &m, "flaky-1", "flaky+"+strings.ToLower(m.ID)+"@example.test", 1000)
	ev, _ := e.findEvent(t, paymentID, schemas.EventPaymentSucceeded)

	var delivery map[string]any
	eventually(t, 30*time.Second, func() error {
		r := e.call(t, &m, "GET", "/v1/webhook_endpoints/"+endpointID+"/deliveries", "", nil)
		data, _ := r.Body["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["status"] != "succeeded" {
			return fmt.Errorf("deliveries: %s", r.Raw)
		}
		delivery = data[0].(map[string]any)
		return nil
	})
	reqs := e.hooks.received("/flaky")
	if len(reqs) != 6 || len(accepted(reqs)[ev.ID]) != 1 {
		t.Fatalf("endpoint got %d requests (%d accepted), want 5 refused then 1 accepted", len(reqs), len(accepted(reqs)[ev.ID]))
	}
	verify(t, reqs[5], secret)
	e.recordHistory(t, "webhook_retried", schemas.WebhookDeliveryWorkflowID(delivery["id"].(string)))
	log := e.call(t, &m, "GET", "/v1/webhook_deliveries/"+delivery["id"].(string), "", nil)
	attempts, _ := log.Body["attempt_log"].([]any)
	if len(attempts) != 6 || log.Body["attempts"] != 6.0 {
		t.Fatalf("delivery log: %s", log.Raw)
	}
	for i, a := range attempts {
		want := 500.0
		if i == 5 {
			want = 200
		}
		if code := a.(map[string]any)["status_code"]; code != want {
			t.Errorf("attempt %d: status %v, want %v", i+1, code, want)
		}
	}

	// Rotation: after a roll, deliveries carry a signature for each of the two secrets.
	rolled := e.call(t, &m, "POST", "/v1/webhook_endpoints/"+endpointID+"/roll_secret", "", map[string]any{"expires_in_seconds": 3600})
	if rolled.Status != http.StatusOK {
		t.Fatalf("roll: %d %s", rolled.Status, rolled.Raw)
	}
	// Redelivery on request: the same event again, as a new delivery, once per key.
	redeliver := func() response {
		return e.call(t, &m, "POST", "/v1/webhook_deliveries/"+delivery["id"].(string)+"/redeliver", "redeliver-1", nil)
	}
	first, again := redeliver(), redeliver()
	if first.Status != http.StatusCreated || first.Body["redelivery_of"] != delivery["id"] || again.Body["id"] != first.Body["id"] {
		t.Fatalf("redeliver: %d %s, again %s", first.Status, first.Raw, again.Raw)
	}
	eventually(t, 20*time.Second, func() error {
		if n := len(accepted(e.hooks.received("/flaky"))[ev.ID]); n != 2 {
			return fmt.Errorf("event accepted %d times", n)
		}
		return nil
	})
	last := e.hooks.received("/flaky")
	redelivered := last[len(last)-1]
	if redelivered.Delivery != first.Body["id"] || strings.Count(redelivered.Signature, "v1=") != 2 {
		t.Errorf("redelivery %s signed %q: want the new delivery's ID and two signatures", redelivered.Delivery, redelivered.Signature)
	}
	verify(t, redelivered, secret, rolled.Body["secret"].(string))
}

func TestWebhookEndpointsAtPrivateAddressesAreRefused(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	for _, url := range []string{"https://127.0.0.1/hook", "https://169.254.169.254/latest/meta-data/", "https://localhost:8443/hook"} {
		r := e.call(t, &e.b, "POST", "/v1/webhook_endpoints", "", map[string]any{"url": url, "enabled_events": []string{"*"}})
		if r.Status != http.StatusBadRequest || r.errorField("code") != "webhook_url_forbidden" {
			t.Errorf("%s: %d %s, want 400 webhook_url_forbidden", url, r.Status, r.Raw)
		}
	}
}

// TestNotifierKilledMidStreamSendsNothingTwice kills the notifier (SIGKILL, no goodbye)
// while payments stream in, and restarts it: every receipt and every webhook arrives once.
func TestNotifierKilledMidStreamSendsNothingTwice(t *testing.T) {
	e := requireEnv(t) // not parallel: it kills the notifier the other tests use
	m := e.newMerchant(t, "Crash Test Shop")
	e.endpoint(t, &m, "/crash", schemas.EventPaymentSucceeded)
	const payments = 24
	email := func(i int) string { return fmt.Sprintf("crash%d+%s@example.test", i, strings.ToLower(m.ID)) }
	ids := make([]string, payments)
	var wg sync.WaitGroup
	for i := range payments {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i >= payments/3 {
				time.Sleep(time.Duration(i) * 100 * time.Millisecond) // a stream, not a burst
			}
			ids[i] = e.payWithCustomer(t, &m, fmt.Sprintf("crash-%d", i), email(i), int64(1000+i))
		}()
	}
	eventually(t, 30*time.Second, func() error {
		n := 0
		for i := range payments {
			n += len(e.emailsTo(t, email(i)))
		}
		if n < payments/4 {
			return fmt.Errorf("%d receipts so far", n)
		}
		return nil
	})
	e.notifier.Kill()
	t.Log("notifier killed mid-stream")
	time.Sleep(time.Second) // payments keep coming while it is down
	if err := e.startNotifier(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	eventually(t, 60*time.Second, func() error {
		missing := 0
		for i := range payments {
			if len(e.emailsTo(t, email(i))) == 0 && !e.unconfirmed(t, ids[i]) {
				missing++
			}
		}
		if n := len(accepted(e.hooks.received("/crash"))); missing > 0 || n < payments {
			return fmt.Errorf("%d receipts missing, %d of %d webhooks delivered", missing, n, payments)
		}
		return nil
	})
	time.Sleep(2 * time.Second) // time for a duplicate to show, were there one
	unconfirmed := 0
	for i := range payments {
		switch n := len(e.emailsTo(t, email(i))); {
		case n > 1:
			t.Errorf("payment %s: %d receipts", ids[i], n)
		case n == 0:
			unconfirmed++ // claimed, then killed before the send: never resent, and visible
		}
	}
	// At most the one notification in flight at the kill can be unconfirmed.
	if unconfirmed > 1 {
		t.Errorf("%d receipts unconfirmed, want at most the one in flight at the kill", unconfirmed)
	}
	t.Logf("%d receipts sent once each, %d unconfirmed (the kill landed between claim and send)", payments-unconfirmed, unconfirmed)
	for id, reqs := range accepted(e.hooks.received("/crash")) {
		if len(reqs) != 1 {
			t.Errorf("event %s delivered %d times", id, len(reqs))
		}
	}
	var deliveries int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE merchant_id = $1`, m.ID).Scan(&deliveries); err != nil {
		t.Fatal(err)
	}
	if deliveries != payments {
		t.Errorf("%d deliveries recorded, want one per payment (%d)", deliveries, payments)
	}
	// The analytics consumer was killed too: it counted every payment once.
	eventually(t, 10*time.Second, func() error {
		r := e.call(t, &m, "GET", "/v1/analytics/minutes?currency=usd&from="+time.Now().Add(-10*time.Minute).UTC().Format(time.RFC3339), "", nil)
		totals, _ := r.Body["totals"].([]any)
		if len(totals) != 1 || totals[0].(map[string]any)["count"] != float64(payments) {
			return fmt.Errorf("analytics: %s", r.Raw)
		}
		return nil
	})
}

// unconfirmed reports whether the payment's receipt was claimed and never confirmed sent.
func (e *stackEnv) unconfirmed(t *testing.T, paymentID string) bool {
	t.Helper()
	ev, _ := e.findEvent(t, paymentID, schemas.EventPaymentSucceeded)
	var n int
	err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM notification_sends
		WHERE event_id = $1 AND status = 'sending'`, ev.ID).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// ctl runs durapay-ctl with the stack's Kafka and API.
func (e *stackEnv) ctl(t *testing.T, key string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(e.binDir, "durapay-ctl"), args...)
	cmd.Env = append(os.Environ(), "KAFKA_BROKERS="+strings.Join(e.stack.KafkaBrokers, ","), "DURAPAY_API="+e.apiURL, "DURAPAY_KEY="+key)
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("durapay-ctl %v: %w", args, err)
	}
	return string(out), nil
}

// A message produced straight to the payments topic by someone other than Durapay (it needs
// only access to Kafka), well formed, for an event Durapay never emitted: no signed webhook,
// no receipt, no analytics; it goes to the dead letters saying why.
func TestForgedEventsSendNothing(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	m := e.newMerchant(t, "Forgery Target")
	e.endpoint(t, &m, "/forged", schemas.EventPaymentSucceeded)
	email := "victim+" + strings.ToLower(m.ID) + "@example.test"
	real := e.payWithCustomer(t, &m, "real-"+t.Name(), email, 1000)
	ev, _ := e.findEvent(t, real, schemas.EventPaymentSucceeded)
	eventually(t, 20*time.Second, func() error {
		if n := len(accepted(e.hooks.received("/forged"))); n != 1 || len(e.emailsTo(t, email)) != 1 {
			return fmt.Errorf("%d webhooks, %d receipts for the real payment", n, len(e.emailsTo(t, email)))
		}
		return nil
	})

	forged := ev
	forged.ID = schemas.EventID(real, schemas.EventPaymentSucceeded, "forged")
	var p schemas.Payment
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		t.Fatal(err)
	}
	p.Amount, p.AmountCaptured = 99_999, 99_999
	forged.Data, _ = json.Marshal(p)
	value, _ := json.Marshal(forged)
	if err := schemas.ValidateEvent(value); err != nil {
		t.Fatalf("the forgery must be well formed to prove anything: %v", err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(e.stack.KafkaBrokers...), Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(context.Background(), kafka.Message{Topic: schemas.TopicPayments, Key: []byte(real), Value: value}); err != nil {
		t.Fatal(err)
	}
	var letters []string
	eventually(t, 30*time.Second, func() error {
		out, err := e.ctl(t, "", "dlq", "list", "--json", "--limit", "1000")
		if err != nil {
			return err
		}
		var list struct {
			Data []struct{ Consumer, Reason, Value string }
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return err
		}
		letters = nil
		for _, l := range list.Data {
			if strings.Contains(l.Value, forged.ID) && strings.Contains(l.Reason, "not emitted by Durapay") {
				letters = append(letters, l.Consumer)
			}
		}
		if len(letters) < 2 {
			return fmt.Errorf("dead letters for the forgery so far: %v", letters)
		}
		return nil
	})
	slices.Sort(letters)
	if !slices.Equal(letters, []string{"durapay-analytics", "durapay-notifier"}) {
		t.Errorf("dead-lettered by %v, want both consumer groups", letters)
	}
	time.Sleep(time.Second) // time for a send to show, were there one
	if n := len(accepted(e.hooks.received("/forged"))); n != 1 {
		t.Errorf("%d webhooks delivered, want the real payment's only", n)
	}
	if n := len(e.emailsTo(t, email)); n != 1 {
		t.Errorf("%d receipts sent, want the real payment's only", n)
	}
	var deliveries int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE event_id = $1`, forged.ID).Scan(&deliveries); err != nil || deliveries != 0 {
		t.Errorf("%d deliveries recorded for the forged event (%v)", deliveries, err)
	}
}

// TestDeadLetterReplay: an event the notifier cannot act on (its merchant is unknown) is
// dead-lettered with the reason; once the merchant exists, durapay-ctl replays it and the
// email goes out.
func TestDeadLetterReplay(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	ctx := context.Background()
	merchantID := merchants.NewID()
	st := schemas.OnboardingState{Merchant: merchantID, Status: schemas.MerchantOnboarding, CurrentlyDue: []string{},
		LinkURL: "https://connect.stripe.com/setup/e/acct_1/abc", LinkExpires: time.Now().Add(time.Hour).Unix(),
		Links: 1, Started: time.Now().Unix(), ExpiresAt: time.Now().Add(30 * 24 * time.Hour).Unix()}
	data, _ := json.Marshal(st)
	ev := schemas.Event{ID: schemas.EventID(merchantID, schemas.EventMerchantOnboardingLink, "1"), Type: schemas.EventMerchantOnboardingLink,
		Created: time.Now().Unix(), Merchant: merchantID, SchemaVersion: schemas.MerchantEventSchemaVersion, Data: data}
	// Emitted as the workers emit it: recorded in the event log, then published.
	value, err := eventlog.Record(ctx, e.pool, schemas.TopicMerchants, merchantID, ev)
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(e.stack.KafkaBrokers...), Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Topic: schemas.TopicMerchants, Key: []byte(merchantID), Value: value}); err != nil {
		t.Fatal(err)
	}
	type letter struct {
		Offset   int64  `json:"offset"`
		Key      string `json:"key"`
		Consumer string `json:"consumer"`
		Reason   string `json:"reason"`
	}
	var mine letter
	eventually(t, 30*time.Second, func() error {
		out, err := e.ctl(t, "", "dlq", "list", "--json", "--limit", "1000")
		if err != nil {
			return err
		}
		var list struct{ Data []letter }
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			return err
		}
		for _, l := range list.Data {
			if l.Key == merchantID {
				mine = l
				return nil
			}
		}
		return fmt.Errorf("no dead letter for %s yet", merchantID)
	})
	if mine.Consumer != "durapay-notifier" || !strings.Contains(mine.Reason, merchantID) {
		t.Fatalf("dead letter %+v: want the notifier's, saying which merchant it could not read", mine)
	}

	// The cause is fixed: the merchant exists. The operator replays the letter.
	name := "Late Merchant"
	if err := merchants.Create(ctx, e.pool, merchants.Merchant{ID: merchantID, Name: name}); err != nil {
		t.Fatal(err)
	}
	profile, _ := envelope.Seal(e.dataKeys, schemas.MerchantProfile{LegalName: name, ContactEmail: "late@" + strings.ToLower(merchantID) + ".test"},
		schemas.ProfilePurpose(merchantID))
	if _, err := e.pool.Exec(ctx, `UPDATE merchants SET profile = $2 WHERE id = $1`, merchantID, profile); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ctl(t, "", "dlq", "replay", "--from", fmt.Sprint(mine.Offset), "--limit", "1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		if n := len(e.emailsTo(t, "late@"+strings.ToLower(merchantID)+".test")); n != 1 {
			return fmt.Errorf("%d onboarding emails", n)
		}
		return nil
	})
}

// An operator finds an unconfirmed send with durapay-ctl and resolves it, through the API.
func TestUnconfirmedSendsAreListedAndResolved(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	ctx := context.Background()
	event := "evt_unconfirmed_" + strings.ToLower(e.a.ID)
	if _, err := e.pool.Exec(ctx, `INSERT INTO notification_sends (event_id, channel, recipient_hash, merchant_id, event_type, template, status, updated_at)
		VALUES ($1, 'email', sha256('lost@example.test'), $2, 'payment.succeeded', 'receipt', 'sending', now() - interval '10 minutes')`, event, e.a.ID); err != nil {
		t.Fatal(err)
	}
	out, err := e.ctl(t, e.staff.Key, "--json", "notifications", "unconfirmed")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var mine map[string]any
	for _, s := range listed {
		if s["event"] == event {
			mine = s
		}
	}
	if mine == nil || mine["template"] != "receipt" {
		t.Fatalf("unconfirmed sends listed: %s", out)
	}
	hash, _ := mine["recipient_hash"].(string)
	if out, err := e.ctl(t, e.staff.Key, "notifications", "resolve", "--event", event, "--channel", "email", "--recipient", hash,
		"--as", "sent", "--reason", "SES log: delivered"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := e.ctl(t, e.staff.Key, "notifications", "resolve", "--event", event, "--channel", "email", "--recipient", hash, "--as", "sent"); err == nil {
		t.Errorf("resolving twice succeeded: %s", out)
	}
	var status string
	if err := e.pool.QueryRow(ctx, `SELECT status FROM notification_sends WHERE event_id = $1`, event).Scan(&status); err != nil || status != "sent" {
		t.Errorf("status %q %v, want sent", status, err)
	}
	var audited int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'notification.resolve' AND resource = $1`, event).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("audit entries %d %v, want 1", audited, err)
	}
}
