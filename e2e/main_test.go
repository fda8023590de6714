// Package e2e drives Durapay over HTTP against the real local stack: the Temporal dev server
// (pinned CLI), kfake, the Stripe sandbox, Postgres and Redis, with the frontend-api and
// workers binaries built from this checkout. Nothing here is mocked.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/internal/platform/temporalx"
	"github.com/durapay/durapay/internal/platform/testenv"
	"github.com/durapay/durapay/schemas"
)

// The webhook secrets of the rotation the tests run in, and the (short) time a customer has
// to authenticate.
const (
	webhookSecretOld = "whsec_e2e_old"
	webhookSecretNew = "whsec_e2e_new"
	actionTimeout    = 8 * time.Second
	// refundFailureWindow outlasts the sandbox's refund failures (2 s after creation).
	refundFailureWindow = 10 * time.Second
	onboardingExpiry    = 15 * time.Second
)

// env is the running stack, shared by the package's tests; envErr says why there is none.
var (
	env    *stackEnv
	envErr error
)

type merchant struct {
	ID  string
	Key string
}

type stackEnv struct {
	stack    *devstack.Stack
	apiURL   string
	temporal client.Client
	// keys encrypt the stack's workflow payloads.
	keys  *keyring.Keyring
	pool  *pgxpool.Pool
	redis *redis.Client
	// Two merchants, to prove that neither sees the other's objects, and two operators'
	// staff keys: who creates a merchant cannot approve it.
	a, b            merchant
	staff, reviewer merchant

	api, workers, notifier         *devstack.Process
	apiEnv, workerEnv, notifierEnv []string
	// hooks is a merchant's HTTPS webhook receiver on 127.0.0.2; dataKeys seal profiles.
	hooks    *hookReceiver
	dataKeys *keyring.Keyring
	// auditKeys key the audit log (auditKeysSpec, as durapay-ctl reads them).
	auditKeys     *keyring.Keyring
	auditKeysSpec string

	binDir string
	// cli is the Temporal CLI, for what an operator (or an intruder) runs by hand.
	cli     string
	logPath string
	closers []func()
}

func TestMain(m *testing.M) {
	code := func() int {
		env, envErr = startEnv()
		defer env.close()
		code := m.Run()
		if code == 0 && env != nil {
			if err := checkEventContracts(env.stack.KafkaBrokers, os.Stderr); err != nil {
				fmt.Fprintln(os.Stderr, err)
				code = 1
			}
		}
		if code != 0 && env != nil {
			fmt.Fprintf(os.Stderr, "\nlast lines of %s:\n%s\n", env.logPath, tail(env.logPath, 60))
		}
		return code
	}()
	os.Exit(code)
}

// requireEnv returns the stack, or fails (in CI) or skips the test saying what is missing.
func requireEnv(t *testing.T) *stackEnv {
	t.Helper()
	if envErr != nil {
		testenv.Unavailable(t, "the end-to-end stack", envErr,
			"make tools && "+testenv.StartPostgres+" && "+testenv.StartRedis)
	}
	return env
}

func startEnv() (_ *stackEnv, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := &stackEnv{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.cli, err = filepath.Abs(testenv.Getenv("TEMPORAL_CLI", "../bin/temporal")); err != nil {
		return nil, err
	}
	stateDir, err := os.MkdirTemp("", "durapay-e2e-")
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = os.RemoveAll(stateDir) })
	e.logPath = filepath.Join(stateDir, "processes.log")
	logFile, err := os.Create(e.logPath)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = logFile.Close() })

	dbURL, drop, err := pgtest.CreateDatabase(ctx)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = drop() })
	// Its own Redis database: the stack's circuit breaker state must not reach other tests.
	redisURL := testenv.Getenv("TEST_E2E_REDIS_URL", "redis://127.0.0.1:6379/14")

	ports := make([]int, 8)
	for i := range ports {
		if ports[i], err = devstack.FreePort(); err != nil {
			return nil, err
		}
	}
	temporalPort, kafkaPort, sandboxPort, apiPort, apiMetricsPort, workerPort, s3Port, notifierPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6], ports[7]
	e.apiURL = "http://127.0.0.1:" + strconv.Itoa(apiPort)

	e.stack, err = devstack.Start(ctx, devstack.Config{
		StateDir: stateDir, TemporalCLI: e.cli, TemporalPort: temporalPort,
		DatabaseURL: dbURL, RedisURL: redisURL, KafkaPort: kafkaPort, SandboxPort: sandboxPort, S3Port: s3Port, Log: logFile,
		// The sandbox signs with the endpoint's old secret: the API, holding the new and the
		// old one, is in the middle of a rotation.
		SandboxWebhookURL: e.apiURL + "/v1/webhooks/stripe", SandboxWebhookSecrets: []string{webhookSecretOld},
	})
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = e.stack.Close() })

	if e.pool, err = pg.Connect(ctx, dbURL, 4, 0); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.pool.Close)
	redisOpts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, err
	}
	e.redis = redis.NewClient(redisOpts)
	e.closers = append(e.closers, func() { _ = e.redis.Close() })
	for _, m := range []*merchant{&e.a, &e.b} {
		m.ID = merchants.NewID()
		if err := merchants.Create(ctx, e.pool, merchants.Merchant{ID: m.ID, Name: "E2E " + m.ID}); err != nil {
			return nil, err
		}
		if m.Key, _, err = merchants.IssueSecretKey(ctx, e.pool, m.ID, merchants.ModeTest); err != nil {
			return nil, err
		}
	}
	if e.staff.Key, _, err = merchants.IssueStaffKey(ctx, e.pool, "e2e operator", time.Hour, merchants.RoleOperator); err != nil {
		return nil, err
	}
	if e.reviewer.Key, _, err = merchants.IssueStaffKey(ctx, e.pool, "e2e reviewer", time.Hour, merchants.RoleOperator); err != nil {
		return nil, err
	}

	e.binDir = filepath.Join(stateDir, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.binDir+"/", "../frontend-api", "../workers", "../notifier", "../durapay-ctl")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build binaries: %v\n%s", err, out)
	}
	payloadKeys, err := keyring.GenerateKey("e2e")
	if err != nil {
		return nil, err
	}
	if e.keys, err = keyring.Parse(payloadKeys); err != nil {
		return nil, err
	}
	dataKeys, err := keyring.GenerateKey("e2e-data")
	if err != nil {
		return nil, err
	}
	if e.dataKeys, err = keyring.Parse(dataKeys); err != nil {
		return nil, err
	}
	if e.auditKeysSpec, err = keyring.GenerateKey("e2e-audit"); err != nil {
		return nil, err
	}
	if e.auditKeys, err = keyring.Parse(e.auditKeysSpec); err != nil {
		return nil, err
	}
	if e.hooks, err = startHookReceiver(stateDir); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.hooks.srv.Close)
	common := []string{
		"TEMPORAL_ADDRESS=" + e.stack.TemporalAddress, "DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL,
		"TEMPORAL_PAYLOAD_KEYS=" + payloadKeys, "DATA_KEYS=" + dataKeys,
		"KAFKA_BROKERS=" + strings.Join(e.stack.KafkaBrokers, ","), "LOG_LEVEL=info",
		// The receiver's address is the one private address allowed, and its port the one
		// port beside 443; its certificate is trusted. Deliveries retry within a test:
		// 200 ms doubling to 1 s, for a minute.
		"WEBHOOK_ALLOWED_NETS=" + hookNet, "WEBHOOK_ALLOWED_PORTS=443," + e.hooks.port(), "WEBHOOK_CA_FILE=" + e.hooks.caFile,
		"WEBHOOK_RETRY_INITIAL=200ms", "WEBHOOK_RETRY_MAX=1s", "WEBHOOK_RETRY_WINDOW=1m",
	}
	common = append(common, e.stack.S3Env()...)
	e.workerEnv = append(common, "STRIPE_API_BASE="+e.stack.SandboxURL, "STRIPE_SECRET_KEY=sk_test_e2e", "AUDIT_KEYS="+e.auditKeysSpec,
		"WORKER_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(workerPort), "STRIPE_RATE_LIMIT=1000",
		// A breaker that opens and closes within a test; the backfill and the history archive
		// run when a test asks.
		"STRIPE_BREAKER_MIN_REQUESTS=6", "STRIPE_BREAKER_OPEN_TIMEOUT=2s",
		"STRIPE_EVENTS_BACKFILL_EVERY=1h", "STRIPE_EVENTS_BACKFILL_LOOKBACK=1h", "HISTORY_ARCHIVE_EVERY=1h")
	if err := e.startWorkers(); err != nil {
		return nil, err
	}
	e.notifierEnv = append(append(common, e.stack.NotifierEnv()...),
		"NOTIFIER_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(notifierPort), "NOTIFIER_RETRY_BACKOFF=100ms",
		"NOTIFIER_RETRY_MAX_BACKOFF=500ms", "NOTIFIER_SESSION_TIMEOUT=6s", "PUBLIC_API_URL="+e.apiURL, "MERCHANT_MESSAGES_POLL=200ms")
	if err := e.startNotifier(); err != nil {
		return nil, err
	}
	e.apiEnv = append(common,
		"API_ADDR=127.0.0.1:"+strconv.Itoa(apiPort), "API_METRICS_ADDR=127.0.0.1:"+strconv.Itoa(apiMetricsPort), "AUDIT_KEYS="+e.auditKeysSpec,
		"STRIPE_WEBHOOK_SECRETS="+webhookSecretNew+","+webhookSecretOld, "PAYMENT_ACTION_TIMEOUT="+actionTimeout.String(),
		"REFUND_FAILURE_WINDOW="+refundFailureWindow.String(),
		// The tests burst (50 concurrent refunds); the limits have their own tests.
		"RATE_LIMIT_READS=5000", "RATE_LIMIT_WRITES=5000",
		// Onboardings that remind within seconds and expire within a test.
		"ONBOARDING_REMINDERS=2s,4s,6s", "ONBOARDING_EXPIRY="+onboardingExpiry.String())
	if err := e.startAPI(ctx); err != nil {
		return nil, err
	}
	// As the processes dial, so that what the tests start is encrypted like what they do.
	if e.temporal, err = temporalx.Dial(ctx, e.stack.TemporalAddress, "default", nil, e.keys); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.temporal.Close)
	return e, nil
}

// startWorkers starts (or, after a kill, restarts) the worker process.
func (e *stackEnv) startWorkers() (err error) {
	e.workers, err = e.startProcess("workers", e.workerEnv)
	return err
}

// startAPI starts (or, after a kill, restarts) frontend-api and waits until it is ready.
func (e *stackEnv) startAPI(ctx context.Context) (err error) {
	if e.api, err = e.startProcess("frontend-api", e.apiEnv); err != nil {
		return err
	}
	return waitReady(ctx, e.apiURL+"/readyz")
}

// startNotifier starts (or, after a kill, restarts) the notifier process.
func (e *stackEnv) startNotifier() (err error) {
	e.notifier, err = e.startProcess("notifier", e.notifierEnv)
	return err
}

func (e *stackEnv) startProcess(name string, env []string) (*devstack.Process, error) {
	logFile, err := os.OpenFile(e.logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	p, err := devstack.StartProcess(name, filepath.Join(e.binDir, name), env, logFile)
	if err != nil {
		logFile.Close()
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = p.Stop(30 * time.Second); _ = logFile.Close() })
	return p, nil
}

func (e *stackEnv) close() {
	if e == nil {
		return
	}
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

func waitReady(ctx context.Context, url string) error {
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %v", url, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func tail(path string, lines int) string {
	b, _ := os.ReadFile(path)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// response is an HTTP answer with its JSON body decoded.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func (r response) errorField(name string) string {
	e, _ := r.Body["error"].(map[string]any)
	v, _ := e[name].(string)
	return v
}

// call sends one API request as merchant m (no key when m is nil).
func (e *stackEnv) call(t *testing.T, m *merchant, method, path, idempotencyKey string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.apiURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if m != nil {
		req.SetBasicAuth(m.Key, "")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}

// do sends a request and reads the answer.
func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// findEvent reads the payments topic from the beginning until it finds the event of this
// type about this payment.
func (e *stackEnv) findEvent(t *testing.T, paymentID, eventType string) (schemas.Event, kafka.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: e.stack.KafkaBrokers, Topic: schemas.TopicPayments,
		GroupID: "e2e-" + strconv.FormatInt(time.Now().UnixNano(), 36), StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for {
		msg, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("no %s event for %s on %s: %v", eventType, paymentID, schemas.TopicPayments, err)
		}
		if string(msg.Key) != paymentID {
			continue
		}
		var ev schemas.Event
		if err := json.Unmarshal(msg.Value, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type == eventType {
			return ev, msg
		}
	}
}

// paymentIntentsFor counts the PaymentIntents the sandbox holds for a payment, found as
// Durapay's webhook routing finds them: by metadata.
func (e *stackEnv) paymentIntentsFor(t *testing.T, paymentID string) int {
	t.Helper()
	sc := stripeclient.New(stripeclient.Config{SecretKey: "sk_test_e2e", APIBase: e.stack.SandboxURL, Timeout: 5 * time.Second})
	it := sc.PaymentIntents.Search(&stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{
		Query: "metadata['" + schemas.StripeMetadataPaymentID + "']:'" + paymentID + "'"}})
	n := 0
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// createsApplied counts the create requests the sandbox executed (not replayed) for an
// idempotency key.
func (e *stackEnv) createsApplied(idempotencyKey string) (applied, total int) {
	for _, r := range e.stack.Sandbox.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/payment_intents" && r.IdempotencyKey == idempotencyKey {
			total++
			executed := r.Fault == "" || r.Fault == string(stripesandbox.FaultDropAfterApply)
			if executed && !r.Replayed && r.Status != http.StatusConflict {
				applied++
			}
		}
	}
	return applied, total
}

// eventually retries check until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
