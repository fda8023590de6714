package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/sirupsen/logrus"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/notify/messages"
	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/internal/platform/eventbus"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/internal/platform/testenv"
	"github.com/durapay/durapay/schemas"
)

// outbox is a fake provider (our own interfaces): it records what it was asked to send and
// fails as scripted.
type outbox struct {
	mu     sync.Mutex
	emails []string // "to|subject"
	texts  []string // "phone|text"
	fail   []error  // the next sends' errors, in order
}

func (o *outbox) next() error {
	if len(o.fail) == 0 {
		return nil
	}
	err := o.fail[0]
	o.fail = o.fail[1:]
	return err
}

func (o *outbox) SendEmail(_ context.Context, to string, e messages.Email, _ map[string]string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.next(); err != nil {
		return "", err
	}
	o.emails = append(o.emails, to+"|"+e.Subject)
	return fmt.Sprintf("ses-%d", len(o.emails)), nil
}

func (o *outbox) SendSMS(_ context.Context, phone, text string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.next(); err != nil {
		return "", err
	}
	o.texts = append(o.texts, phone+"|"+text)
	return fmt.Sprintf("sns-%d", len(o.texts)), nil
}

type fixture struct {
	n        *Notifier
	deps     Deps
	pool     *pgxpool.Pool
	out      *outbox
	merchant string
	payment  schemas.Payment
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	opts, err := redis.ParseURL(testenv.Getenv("TEST_NOTIFY_REDIS_URL", "redis://127.0.0.1:6379/13"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		testenv.Unavailable(t, "Redis", err, testenv.StartRedis)
	}
	spec, err := keyring.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	merchantID := "mer_n" + suffix
	customerID := schemas.CustomerID(merchantID, "c1")
	mp, _ := envelope.Seal(keys, schemas.MerchantProfile{LegalName: "Acme & Co", ContactEmail: "ops@acme.test", ContactPhone: "+15550001111"}, schemas.ProfilePurpose(merchantID))
	cp, _ := envelope.Seal(keys, schemas.CustomerProfile{Email: "ada@example.test", Name: "Ada"}, schemas.CustomerPurpose(customerID))
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO merchants (id, name, profile, phone_verified_hash) VALUES ($1, 'Acme', $2, $3)`,
			[]any{merchantID, mp, merchants.PhoneHash("+15550001111")}},
		{`INSERT INTO customers (id, merchant_id, stripe_customer_id, profile, idempotency_key, request_hash) VALUES ($1, $2, $3, $4, 'k', 'h')`,
			[]any{customerID, merchantID, "cus_" + suffix, cp}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	out := &outbox{}
	log := logrus.New()
	log.SetOutput(io.Discard)
	deps := Deps{Pool: pool, Redis: rdb, DataKeys: keys, Email: out, SMS: out, RetryPolicy: schemas.DefaultWebhookRetryPolicy,
		Limits: Limits{SMSDailyCap: 100}, Log: logrus.NewEntry(log), Registerer: prometheus.NewRegistry()}
	payment := schemas.Payment{ID: schemas.PaymentID(merchantID, "p1"), Object: "payment", Merchant: merchantID, Amount: 1234, Currency: "usd",
		Status: schemas.PaymentSucceeded, CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_visa", Customer: customerID,
		Metadata: map[string]string{}, AmountCaptured: 1234, StripePaymentIntentID: "pi_1", Created: time.Now().Unix()}
	return &fixture{n: New(deps), deps: deps, pool: pool, out: out, merchant: merchantID, payment: payment}
}

// setLimits restarts the fixture's notifier with the platform's limits l.
func (f *fixture) setLimits(l Limits) {
	f.deps.Limits, f.deps.Registerer = l, prometheus.NewRegistry()
	f.n = New(f.deps)
}

func (f *fixture) event(t *testing.T, typ string, data any, seq string) kafka.Message {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	ev := schemas.Event{ID: schemas.EventID(f.payment.ID, typ, seq), Type: typ, Created: time.Now().Unix(), Merchant: f.merchant,
		SchemaVersion: 1, Data: raw}
	value, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Topic: schemas.TopicPayments, Key: []byte(f.payment.ID), Value: value}
}

func (f *fixture) status(t *testing.T, eventID string) string {
	t.Helper()
	var s string
	if err := f.pool.QueryRow(context.Background(), `SELECT string_agg(status, ',') FROM notification_sends WHERE event_id = $1`, eventID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReceiptIsSentOnceHoweverOftenTheEventComes(t *testing.T) {
	f := newFixture(t)
	m := f.event(t, schemas.EventPaymentSucceeded, f.payment, "1")
	for i := 0; i < 3; i++ { // the original, a redelivery, a replay
		if err := f.n.Handle(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.out.emails) != 1 || f.out.emails[0] != "ada@example.test|Your receipt from Acme & Co" {
		t.Fatalf("emails %q, want one receipt to ada@example.test", f.out.emails)
	}
}

func TestPreferencesChooseWhatIsSent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.n.prefs.Set(ctx, f.merchant, Preferences{EmailReceipts: false, EmailRefunds: true,
		SMSEvents: []string{schemas.EventPaymentSucceeded}, DailyEmailCap: 10, DailySMSCap: 10}); err != nil {
		t.Fatal(err)
	}
	if err := f.n.Handle(ctx, f.event(t, schemas.EventPaymentSucceeded, f.payment, "1")); err != nil {
		t.Fatal(err)
	}
	if len(f.out.emails) != 0 || len(f.out.texts) != 1 {
		t.Fatalf("emails %q, texts %q; want no receipt (turned off) and one text", f.out.emails, f.out.texts)
	}
	if want := "+15550001111|Durapay: payment " + f.payment.ID; f.out.texts[0][:len(want)] != want {
		t.Errorf("text %q, want it to start with %q", f.out.texts[0], want)
	}
}

func TestDailyCapStopsSends(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := DefaultPreferences
	p.DailyEmailCap = 1
	if err := f.n.prefs.Set(ctx, f.merchant, p); err != nil {
		t.Fatal(err)
	}
	first, second := f.event(t, schemas.EventPaymentSucceeded, f.payment, "1"), f.event(t, schemas.EventPaymentSucceeded, f.payment, "2")
	for _, m := range []kafka.Message{first, second} {
		if err := f.n.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var ev schemas.Event
	_ = json.Unmarshal(second.Value, &ev)
	if len(f.out.emails) != 1 || f.status(t, ev.ID) != "capped" {
		t.Fatalf("emails %q, second %q; want one sent and the second capped", f.out.emails, f.status(t, ev.ID))
	}
}

// The platform's SMS cap holds whatever a merchant stored: a cap set when merchants could
// choose up to 100,000 texts a day must not let them pump texts past it.
func TestPlatformSMSCapBoundsTheMerchantsCap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.setLimits(Limits{SMSDailyCap: 2})
	if _, err := f.pool.Exec(ctx, `INSERT INTO notification_preferences (merchant_id, email_receipts, sms_events, daily_sms_cap)
		VALUES ($1, false, '{payment.succeeded}', 100000)`, f.merchant); err != nil {
		t.Fatal(err)
	}
	var last schemas.Event
	for i := range 3 {
		m := f.event(t, schemas.EventPaymentSucceeded, f.payment, fmt.Sprint(i))
		if err := f.n.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(m.Value, &last)
	}
	if len(f.out.texts) != 2 || f.status(t, last.ID) != "capped" {
		t.Fatalf("%d texts, the third %q; want 2 sent and the third capped at the platform's cap", len(f.out.texts), f.status(t, last.ID))
	}
	if p, err := f.n.prefs.Get(ctx, f.merchant); err != nil || p.DailySMSCap != 2 {
		t.Errorf("preferences read %+v, %v; want daily_sms_cap shown as the platform's 2", p, err)
	}
}

func TestRefusedSendIsRetriedAndSentOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	refused := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}}, Err: errors.New("throttled")}}
	f.out.fail = []error{refused}
	m := f.event(t, schemas.EventPaymentSucceeded, f.payment, "1")
	if err := f.n.Handle(ctx, m); err == nil {
		t.Fatal("a refused send must fail the message, so it is tried again")
	}
	if err := f.n.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	if len(f.out.emails) != 1 {
		t.Fatalf("emails %q, want the receipt once, on the second try", f.out.emails)
	}
}

func TestAnUnconfirmedSendIsNeverRepeated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.out.fail = []error{context.DeadlineExceeded} // the request left; the answer never came
	m := f.event(t, schemas.EventPaymentSucceeded, f.payment, "1")
	for i := 0; i < 2; i++ {
		if err := f.n.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var ev schemas.Event
	_ = json.Unmarshal(m.Value, &ev)
	if len(f.out.emails) != 0 || f.status(t, ev.ID) != "sending" {
		t.Fatalf("emails %q, status %q; want nothing resent and the claim left open", f.out.emails, f.status(t, ev.ID))
	}

	// Past the grace, the gauge counts it and an operator finds it; told it was not sent,
	// the next delivery of the event sends it, once.
	gauge := NewUnconfirmedCollector(f.pool)
	if n := testutil.ToFloat64(gauge); n != 0 {
		t.Errorf("gauge %v within the grace, want 0", n)
	}
	if _, err := f.pool.Exec(ctx, `UPDATE notification_sends SET updated_at = now() - interval '1 hour' WHERE event_id = $1`, ev.ID); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(gauge); n != 1 {
		t.Errorf("gauge %v, want 1", n)
	}
	open, err := ListUnconfirmed(ctx, f.pool, time.Now().Add(-UnconfirmedGrace), 10)
	if err != nil || len(open) != 1 || open[0].EventID != ev.ID || open[0].Channel != ChannelEmail {
		t.Fatalf("unconfirmed %+v %v", open, err)
	}
	if err := Resolve(ctx, f.pool, ev.ID, ChannelEmail, open[0].Recipient, ResolvedRetryable, "ops"); err != nil {
		t.Fatal(err)
	}
	if err := Resolve(ctx, f.pool, ev.ID, ChannelEmail, open[0].Recipient, ResolvedSent, "ops"); !errors.Is(err, ErrNotUnconfirmed) {
		t.Errorf("resolving twice: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := f.n.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.out.emails) != 1 || f.status(t, ev.ID) != "sent" || testutil.ToFloat64(gauge) != 0 {
		t.Errorf("after resolving as retryable: emails %q, status %q", f.out.emails, f.status(t, ev.ID))
	}
}

func TestABrokenMessageIsPermanent(t *testing.T) {
	f := newFixture(t)
	for _, value := range []string{`not json`, `{"id":"evt_1","type":"payment.succeeded"}`} {
		err := f.n.Handle(context.Background(), kafka.Message{Value: []byte(value)})
		if !errors.Is(err, eventbus.ErrPermanent) {
			t.Errorf("Handle(%s) = %v, want a permanent error", value, err)
		}
	}
}

func TestPreferencesAreCachedAndInvalidated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.n.prefs.Get(ctx, f.merchant) // caches the defaults
	if err != nil || !p.EmailReceipts {
		t.Fatalf("Get = %+v, %v; want the defaults", p, err)
	}
	p.EmailReceipts = false
	if err := f.n.prefs.Set(ctx, f.merchant, p); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.n.prefs.Get(ctx, f.merchant); got.EmailReceipts {
		t.Fatal("Set did not drop the cached copy")
	}
	var invalid *InvalidPreferenceError
	if err := (Preferences{SMSEvents: []string{"payment.exploded"}}).Validate(KnownEventType, f.deps.Limits); !errors.As(err, &invalid) || invalid.Field != "sms_events" {
		t.Errorf("Validate(unknown event) = %v", err)
	}
}

func TestOnboardingSendsTheLinkToTheMerchant(t *testing.T) {
	f := newFixture(t)
	st := schemas.OnboardingState{Merchant: f.merchant, Status: schemas.MerchantOnboarding, StripeAccountID: "acct_1", CurrentlyDue: []string{},
		LinkURL: "https://connect.stripe.com/setup/e/acct_1/x", LinkExpires: time.Now().Add(time.Hour).Unix(), Links: 1,
		Started: time.Now().Unix(), ExpiresAt: time.Now().Add(720 * time.Hour).Unix()}
	active := st
	active.Status, active.DecidedBy, active.Decided, active.SecretKeyID = schemas.MerchantActive, "operator", time.Now().Unix(), "key_1"
	for i, typ := range []string{schemas.EventMerchantOnboardingStarted, schemas.EventMerchantActivated} {
		data := st
		if typ == schemas.EventMerchantActivated {
			data = active
		}
		m := f.event(t, typ, data, fmt.Sprint(i))
		m.Topic = schemas.TopicMerchants
		if err := f.n.Handle(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.out.emails) != 2 || !strings.HasPrefix(f.out.emails[0], "ops@acme.test|") || !strings.HasPrefix(f.out.emails[1], "ops@acme.test|") {
		t.Fatalf("emails %q, want the link and the welcome to the merchant's contact", f.out.emails)
	}
}

// Texts go only to a contact number its merchant proved it holds: Durapay texts it a code
// (made just before it is sent; only its hash is kept), the merchant enters it, and only then
// do event texts go out. Guesses are counted, and a number changed since the code was sent
// stays unverified.
func TestTextsGoOnlyToAVerifiedNumber(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.pool.Exec(ctx, `UPDATE merchants SET phone_verified_hash = NULL WHERE id = $1`, f.merchant); err != nil {
		t.Fatal(err)
	}
	if err := f.n.prefs.Set(ctx, f.merchant, Preferences{SMSEvents: []string{schemas.EventPaymentSucceeded}, DailyEmailCap: 10, DailySMSCap: 10}); err != nil {
		t.Fatal(err)
	}
	if err := f.n.Handle(ctx, f.event(t, schemas.EventPaymentSucceeded, f.payment, "1")); err != nil {
		t.Fatal(err)
	}
	if len(f.out.texts) != 0 {
		t.Fatalf("texts %q to a number nobody verified", f.out.texts)
	}

	if _, err := merchants.RequestPhoneVerification(ctx, f.pool, f.merchant); err != nil {
		t.Fatal(err)
	}
	sendCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		done <- f.n.SendMerchantMessages(sendCtx, f.pool, MerchantMessagesConfig{PublicURL: "http://127.0.0.1:8080",
			KeyLinkTTL: time.Hour, PhoneCodeTTL: 10 * time.Minute, Every: 10 * time.Millisecond})
	}()
	var code string
	for deadline := time.Now().Add(5 * time.Second); code == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		f.out.mu.Lock()
		if len(f.out.texts) == 1 {
			code = phoneCodePattern.FindString(f.out.texts[0])
		}
		f.out.mu.Unlock()
	}
	stop()
	if err := <-done; err != nil || code == "" || !strings.HasPrefix(f.out.texts[0], "+15550001111|") {
		t.Fatalf("the code's text: %q (%v)", f.out.texts, err)
	}
	var stored int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM merchant_phone_verifications WHERE merchant_id = $1 AND code_hash IS NOT NULL`,
		f.merchant).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("%d hashed codes stored (%v)", stored, err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if err := merchants.ConfirmPhone(ctx, f.pool, f.merchant, wrong, "+15550001111"); !errors.Is(err, merchants.ErrPhoneCodeInvalid) {
		t.Fatalf("a wrong code: %v", err)
	}
	if err := merchants.ConfirmPhone(ctx, f.pool, f.merchant, code, "+15550009999"); !errors.Is(err, merchants.ErrPhoneChanged) {
		t.Fatalf("the code for a number changed since: %v", err)
	}
	if err := merchants.ConfirmPhone(ctx, f.pool, f.merchant, code, "+1 555 000 1111"); err != nil {
		t.Fatalf("the right code: %v", err)
	}
	if err := f.n.Handle(ctx, f.event(t, schemas.EventPaymentSucceeded, f.payment, "2")); err != nil {
		t.Fatal(err)
	}
	if len(f.out.texts) != 2 || !strings.Contains(f.out.texts[1], f.payment.ID) {
		t.Fatalf("texts %q, want the event's once the number is verified", f.out.texts)
	}

	// Guesses at one code are counted: past the limit even the right code fails.
	if _, err := merchants.RequestPhoneVerification(ctx, f.pool, f.merchant); err != nil {
		t.Fatal(err)
	}
	v, _, second, ok, err := merchants.NextPhoneCode(ctx, f.pool, time.Minute, func(string) (string, error) { return "+15550001111", nil })
	if err != nil || !ok {
		t.Fatalf("next code: %+v %v", v, err)
	}
	for range merchants.MaxPhoneCodeAttempts {
		_ = merchants.ConfirmPhone(ctx, f.pool, f.merchant, "999999x", "+15550001111")
	}
	if err := merchants.ConfirmPhone(ctx, f.pool, f.merchant, second, "+15550001111"); !errors.Is(err, merchants.ErrPhoneCodeInvalid) {
		t.Fatalf("the right code after %d wrong guesses: %v", merchants.MaxPhoneCodeAttempts, err)
	}
}

var phoneCodePattern = regexp.MustCompile(`\b[0-9]{6}\b`)
