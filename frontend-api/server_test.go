package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
	workflowpb "go.temporal.io/api/workflow/v1"

	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/internal/domain/analytics"
	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/internal/platform/testenv"
	"github.com/durapay/durapay/schemas"
)

// fakeWorkflows stands in for Temporal in handler tests (the end-to-end tests use the real
// server). It records calls and answers with the configured function.
type fakeWorkflows struct {
	mu           sync.Mutex
	creates      []schemas.PaymentInput
	create       func(ctx context.Context, in schemas.PaymentInput) (schemas.CreatePaymentResult, error)
	get          func(merchantID, paymentID string) (schemas.Payment, error)
	createRefund func(in schemas.RefundInput) (schemas.CreateRefundResult, error)
	updates      []string
	signals      []string
	update       func(merchantID, paymentID, name string, arg any) (schemas.Payment, error)
	// startOnboarding answers StartOnboarding (nil: errWorkflowClosed).
	startOnboarding func(in schemas.OnboardingInput) (schemas.OnboardingState, error)
}

func (f *fakeWorkflows) Update(_ context.Context, merchantID, paymentID, name string, arg any) (schemas.Payment, error) {
	f.mu.Lock()
	f.updates = append(f.updates, name)
	f.mu.Unlock()
	if f.update == nil {
		return schemas.Payment{}, errWorkflowClosed
	}
	return f.update(merchantID, paymentID, name, arg)
}

func (f *fakeWorkflows) UpdateRefund(context.Context, string, string, string, any) (schemas.Refund, error) {
	return schemas.Refund{}, errWorkflowClosed
}

func (f *fakeWorkflows) Create(ctx context.Context, in schemas.PaymentInput, _ string) (schemas.CreatePaymentResult, error) {
	f.mu.Lock()
	f.creates = append(f.creates, in)
	f.mu.Unlock()
	if f.create == nil {
		return succeeded(in), nil
	}
	return f.create(ctx, in)
}

func (f *fakeWorkflows) CreateRefund(_ context.Context, in schemas.RefundInput) (schemas.CreateRefundResult, error) {
	if f.createRefund == nil {
		return schemas.CreateRefundResult{}, errWorkflowClosed
	}
	return f.createRefund(in)
}

func (f *fakeWorkflows) StartWebhookDelivery(context.Context, string, schemas.WebhookRetryPolicy) error {
	return nil
}

func (f *fakeWorkflows) CreateCustomer(context.Context, schemas.CustomerInput) (schemas.Customer, error) {
	return schemas.Customer{}, errWorkflowClosed
}

func (f *fakeWorkflows) StartOnboarding(_ context.Context, in schemas.OnboardingInput) (schemas.OnboardingState, error) {
	if f.startOnboarding == nil {
		return schemas.OnboardingState{}, errWorkflowClosed
	}
	return f.startOnboarding(in)
}

func (f *fakeWorkflows) ReviewMerchant(context.Context, string, schemas.ReviewDecision) (schemas.OnboardingState, error) {
	return schemas.OnboardingState{}, errWorkflowClosed
}

func (f *fakeWorkflows) ListPayments(context.Context, string, int, []byte) ([]*workflowpb.WorkflowExecutionInfo, []byte, error) {
	return nil, nil, nil
}

func (f *fakeWorkflows) Get(_ context.Context, merchantID, paymentID string) (schemas.Payment, error) {
	if f.get == nil {
		return schemas.Payment{}, errNoWorkflow
	}
	return f.get(merchantID, paymentID)
}

// SignalWorkflow makes fakeWorkflows the webhook router's Temporal too.
func (f *fakeWorkflows) SignalWorkflow(_ context.Context, workflowID, _, name string, _ any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, name+" "+workflowID)
	return nil
}

func (f *fakeWorkflows) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.creates)
}

func succeeded(in schemas.PaymentInput) schemas.CreatePaymentResult {
	return schemas.CreatePaymentResult{Payment: schemas.Payment{ID: in.PaymentID, Object: "payment", Merchant: in.MerchantID,
		Amount: in.Amount.Minor, Currency: in.Currency.String(), Status: schemas.PaymentSucceeded, CaptureMethod: in.CaptureMethod,
		PaymentMethod: in.PaymentMethod, Metadata: map[string]string{}, AmountCaptured: in.Amount.Minor,
		StripePaymentIntentID: "pi_fake", Created: 1_700_000_000}}
}

type fixture struct {
	srv       *server
	http      *httptest.Server
	workflows *fakeWorkflows
	merchant  string
	key       string
	// auditKeys key the server's audit log.
	auditKeys *keyring.Keyring
}

func redisForTests(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(testenv.Getenv("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		testenv.Unavailable(t, "Redis", err, testenv.StartRedis)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	rdb := redisForTests(t)
	merchantID := merchants.NewID()
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: merchantID, Name: "Test shop"}); err != nil {
		t.Fatal(err)
	}
	key, _, err := merchants.IssueSecretKey(ctx, pool, merchantID, merchants.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	fw := &fakeWorkflows{}
	// Every fixture's requests come from loopback, and share its failure budget in Redis:
	// tests of the budget name their own source (behindProxy).
	cfg := apiConfig{CreateTimeout: 2 * time.Second, MaxBodyBytes: 4096, RateLimitReads: 1000, RateLimitWrites: 1000,
		AuthFailuresPerMinute: 1_000_000, StaffKeys: true, StaffKeyTTL: time.Hour, StaffKeyMaxTTL: 24 * time.Hour}
	s := &server{
		cfg:       cfg,
		log:       logrus.NewEntry(log),
		pool:      pool,
		redis:     rdb,
		workflows: fw,
		keys:      &keyResolver{pool: pool, redis: rdb, ttl: time.Minute},
		metrics:   newMetrics(prometheus.NewRegistry()),
		// Each fixture its own breaker, so that a test opening it affects no other.
		stripeBreaker: "stripe-test-" + merchantID,
		limiter:       redis_rate.NewLimiter(rdb),
		analytics:     analytics.NewStore(pool),
		webhookRetry:  schemas.DefaultWebhookRetryPolicy,
		penalties:     newPenalties(maxPenalties, cfg.longestPenalty()),
	}
	s.cfg.Notifications.SMSDailyCap = 100
	s.authFailures = newAuthFailureLog(s.record)
	spec, _ := keyring.GenerateKey("test")
	s.dataKeys, _ = keyring.Parse(spec)
	spec, _ = keyring.GenerateKey("audit")
	auditKeys, _ := keyring.Parse(spec)
	s.auditLog = audit.NewLog(pool, auditKeys)
	s3, stopS3, err := devstack.StartS3("", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stopS3() })
	anchorStore, err := objectstore.New(ctx, s3)
	if err != nil {
		t.Fatal(err)
	}
	s.anchors = audit.NewAnchors(anchorStore)
	s.router = stripeevents.NewRouter(pool, fw)
	s.webhooks = stripeevents.Verifier{Secrets: []string{testWebhookSecret}, Tolerance: 300 * time.Second, Now: time.Now}
	hs := httptest.NewServer(s.routes())
	t.Cleanup(hs.Close)
	return &fixture{srv: s, http: hs, workflows: fw, merchant: merchantID, key: key, auditKeys: auditKeys}
}

// restart serves the fixture's server anew, after a test changed its configuration.
func (f *fixture) restart(t *testing.T) *fixture {
	t.Helper()
	hs := httptest.NewServer(f.srv.routes())
	t.Cleanup(hs.Close)
	g := *f
	g.http = hs
	return &g
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (f *fixture) do(t *testing.T, method, path, key, idempotencyKey, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, f.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (r reply) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (r reply) errorField(name string) string {
	e, _ := r.body["error"].(map[string]any)
	v, _ := e[name].(string)
	return v
}

const testWebhookSecret = "whsec_test"

const visa = `{"amount":2000,"currency":"usd","payment_method":"pm_card_visa"}`

// redisAt is a client for an address where no Redis answers.
func redisAt(t *testing.T, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
