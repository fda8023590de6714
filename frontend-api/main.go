// frontend-api is Durapay's HTTP API: thin handlers that authenticate merchants, validate
// requests and start or query workflows by name. It never imports workflows/ or activities/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/internal/domain/analytics"
	"github.com/durapay/durapay/internal/domain/archive"
	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/notify"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/internal/domain/timeline"
	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/internal/platform/breaker"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/oidcauth"
	"github.com/durapay/durapay/internal/platform/process"
	"github.com/durapay/durapay/schemas"
)

func main() { process.Main("frontend-api", run) }

// apiConfig is frontend-api's configuration, read from the environment.
type apiConfig struct {
	// Temporal (its payload keys also serve /codec), Postgres, Redis (the API key cache, rate
	// limits, the circuit breaker's state), the data keys (personal data, sealed before it is
	// stored or sent to a workflow) and the log level.
	process.Base
	// Audit keys the audit log's rows (key changes, refunds, decisions, failed sign-ins), and
	// names the bucket of its anchors, which admins list.
	Audit       audit.Config
	Addr        string `env:"API_ADDR, default=127.0.0.1:8080"`
	MetricsAddr string `env:"API_METRICS_ADDR, default=127.0.0.1:9090"`

	// CodecAllowedOrigin is the Temporal UI's origin, allowed to call /codec from a browser.
	CodecAllowedOrigin string `env:"CODEC_ALLOWED_ORIGIN, default=http://127.0.0.1:8233"`
	// CodecAuth is who may decode payloads through /codec: "staff" (an operator, finance or
	// admin staff key, or an OIDC token), or "none" (development only: allowed on loopback).
	CodecAuth         string `env:"CODEC_AUTH, default=staff"`
	PaymentsTaskQueue string `env:"PAYMENTS_TASK_QUEUE, default=payments"`

	// CreateTimeout bounds how long POST /v1/payments waits for the first outcome before it
	// answers 202 processing.
	CreateTimeout time.Duration `env:"CREATE_PAYMENT_TIMEOUT, default=25s"`
	// The deadlines and retry budget of new payments (see schemas.PaymentPolicy).
	ActionTimeout       time.Duration `env:"PAYMENT_ACTION_TIMEOUT, default=1h"`
	AuthorizationWindow time.Duration `env:"PAYMENT_AUTHORIZATION_WINDOW, default=164h"`
	StripeRetryBudget   time.Duration `env:"STRIPE_RETRY_BUDGET, default=12h"`
	// RefundFailureWindow is how long a refund's workflow listens for Stripe to fail it.
	RefundFailureWindow time.Duration `env:"REFUND_FAILURE_WINDOW, default=720h"`

	// StripeWebhookSecrets verify Stripe's webhooks: the endpoint's signing secret, or two
	// (comma-separated) while it is rolled.
	StripeWebhookSecrets   []string      `env:"STRIPE_WEBHOOK_SECRETS" secret:"true"`
	StripeWebhookTolerance time.Duration `env:"STRIPE_WEBHOOK_TOLERANCE, default=300s"`

	MaxBodyBytes int64 `env:"MAX_BODY_BYTES, default=65536"`
	// Per API key and second: GET routes, and routes that change something.
	RateLimitReads  int           `env:"RATE_LIMIT_READS, default=100"`
	RateLimitWrites int           `env:"RATE_LIMIT_WRITES, default=25"`
	APIKeyCacheTTL  time.Duration `env:"API_KEY_CACHE_TTL, default=5m"`
	// AuthFailuresPerMinute is how many failed authentications (a bad or missing key or
	// token, a bad invitation) a source address may make per minute before it is refused.
	AuthFailuresPerMinute int `env:"AUTH_FAILURES_PER_MINUTE, default=20"`
	// TrustedProxyNets are the networks (CIDRs) of the proxies in front of frontend-api,
	// whose X-Forwarded-For names a request's source address. Empty: the peer is the source.
	TrustedProxyNets []string `env:"TRUSTED_PROXY_NETS"`

	// Sign-in of Durapay's people with OIDC: the issuer (its discovery document and JWKS),
	// the audience (client ID) tokens must carry, and the claim whose values map to roles
	// ("idp-group:role,..."). An empty issuer turns OIDC off (staff keys only).
	OIDCIssuerURL  string            `env:"OIDC_ISSUER_URL"`
	OIDCAudience   string            `env:"OIDC_AUDIENCE"`
	OIDCRolesClaim string            `env:"OIDC_ROLES_CLAIM, default=groups"`
	OIDCRoleMap    map[string]string `env:"OIDC_ROLE_MAP, default=durapay-operators:operator,durapay-finance:finance,durapay-admins:admin"`

	// Onboarding: when merchants are reminded and when an undecided onboarding ends, and
	// where Stripe sends a merchant's browser back after KYC.
	OnboardingReminders  []time.Duration `env:"ONBOARDING_REMINDERS, default=24h,72h,168h"`
	OnboardingExpiry     time.Duration   `env:"ONBOARDING_EXPIRY, default=720h"`
	OnboardingReturnURL  string          `env:"ONBOARDING_RETURN_URL, default=http://127.0.0.1:8080/onboarding/return"`
	OnboardingRefreshURL string          `env:"ONBOARDING_REFRESH_URL, default=http://127.0.0.1:8080/onboarding/refresh"`

	// Staff keys are a break-glass path beside OIDC: StaffKeys false refuses every one (set it
	// in production once people sign in with OIDC); an issued key lives StaffKeyTTL unless
	// its issuer asks for less, at most StaffKeyMaxTTL.
	StaffKeys      bool          `env:"STAFF_KEYS, default=true"`
	StaffKeyTTL    time.Duration `env:"STAFF_KEY_TTL, default=1h"`
	StaffKeyMaxTTL time.Duration `env:"STAFF_KEY_MAX_TTL, default=24h"`

	// S3 is the bucket of settlement reports (S3_ENDPOINT, S3_BUCKET, ...).
	S3 objectstore.Config `env:", prefix=S3_"`
	// HistoryArchiveBucket holds the workflow histories the workers archive (empty: S3_BUCKET).
	HistoryArchiveBucket string `env:"HISTORY_ARCHIVE_BUCKET"`
	// Webhooks: the SSRF guard endpoint URLs are checked against, and redeliveries' retries.
	Webhooks webhooks.Config `env:", prefix=WEBHOOK_"`
	// Notifications: the platform's limits that merchants' preferences must stay within.
	Notifications notify.Limits

	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT, default=30s"`
}

// server holds frontend-api's dependencies.
type server struct {
	cfg       apiConfig
	log       *logrus.Entry
	pool      *pgxpool.Pool
	auditLog  *audit.Log
	redis     *redis.Client
	temporal  client.Client
	workflows paymentWorkflows
	keys      *keyResolver
	metrics   *metrics
	webhooks  stripeevents.Verifier
	router    *stripeevents.Router
	// stripeBreaker names the workers' circuit breaker whose state new payments check.
	stripeBreaker string
	// objects is the bucket of settlement reports, for download links.
	objects *objectstore.Store
	// anchors are the audit log's, for durapay-ctl audit verify.
	anchors *audit.Anchors
	// histories reads workflow histories for timelines: Temporal's, then the archive's.
	histories timeline.Histories
	limiter   *redis_rate.Limiter
	// keyring encrypts workflow payloads; /codec decodes them for operators (nil, with
	// TEMPORAL_ALLOW_CLEAR_PAYLOADS: no codec).
	keyring *keyring.Keyring
	// oidc verifies people's bearer tokens (nil: OIDC is off).
	oidc *oidcauth.Verifier
	// dataKeys seal personal data before it is stored or sent to a workflow.
	dataKeys *keyring.Keyring
	// webhookPolicy checks merchants' endpoint URLs; webhookRetry is a redelivery's.
	webhookPolicy webhooks.Policy
	webhookRetry  schemas.WebhookRetryPolicy
	analytics     *analytics.Store
	// penalties are the penalty box's: who is over a limit, until when.
	penalties *penalties
	// proxies name a request's source; authFailures tallies failed authentications for
	// the audit log.
	proxies      trustedProxies
	authFailures *authFailureLog
}

func (c apiConfig) validate() error {
	if c.StripeRetryBudget <= 0 || c.StripeRetryBudget > schemas.MaxStripeRetryBudget {
		return fmt.Errorf("STRIPE_RETRY_BUDGET must be positive and at most %s: Stripe forgets idempotency keys after 24 hours", schemas.MaxStripeRetryBudget)
	}
	if c.CodecAuth != "staff" && c.CodecAuth != "none" {
		return fmt.Errorf("CODEC_AUTH must be staff or none")
	}
	if c.CodecAuth == "none" && !isLoopback(c.Addr) {
		return fmt.Errorf("CODEC_AUTH=none is for development: API_ADDR must be a loopback address")
	}
	if c.RateLimitReads <= 0 || c.RateLimitWrites <= 0 || c.AuthFailuresPerMinute <= 0 {
		return fmt.Errorf("RATE_LIMIT_READS, RATE_LIMIT_WRITES and AUTH_FAILURES_PER_MINUTE must be positive")
	}
	if c.StaffKeyTTL <= 0 || c.StaffKeyTTL > c.StaffKeyMaxTTL {
		return fmt.Errorf("STAFF_KEY_TTL must be positive and at most STAFF_KEY_MAX_TTL")
	}
	if c.ActionTimeout <= 0 || c.AuthorizationWindow <= 0 || c.AuthorizationWindow > 7*24*time.Hour {
		return fmt.Errorf("PAYMENT_ACTION_TIMEOUT must be positive, PAYMENT_AUTHORIZATION_WINDOW positive and under the card networks' 7 days")
	}
	return c.Notifications.Validate()
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	return err == nil && (host == "localhost" || (ip != nil && ip.IsLoopback()))
}

// onboardingPolicy is what every new onboarding gets.
func (c apiConfig) onboardingPolicy() schemas.OnboardingPolicy {
	return schemas.OnboardingPolicy{Reminders: c.OnboardingReminders, Expiry: c.OnboardingExpiry,
		ReturnURL: c.OnboardingReturnURL, RefreshURL: c.OnboardingRefreshURL}
}

// policy is the deadlines every new payment gets.
func (c apiConfig) policy() schemas.PaymentPolicy {
	return schemas.PaymentPolicy{ActionTimeout: c.ActionTimeout, AuthorizationWindow: c.AuthorizationWindow, StripeRetryBudget: c.StripeRetryBudget}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	var cfg apiConfig
	// A closure: the method value would bind cfg as it is before loading.
	p, err := process.Start(ctx, "frontend-api", getenv, stdout, &cfg, func() error { return cfg.validate() })
	if err != nil {
		return err
	}
	defer p.Close()
	log, pool, rdb, tc, keys := p.Log, p.Pool, p.Redis, p.Temporal, p.PayloadKeys

	webhookPolicy, err := cfg.Webhooks.Policy()
	if err != nil {
		return err
	}
	webhookRetry, err := cfg.Webhooks.RetryPolicy()
	if err != nil {
		return err
	}
	proxies, err := parseTrustedProxies(cfg.TrustedProxyNets)
	if err != nil {
		return err
	}
	reports, err := objectstore.New(ctx, cfg.S3)
	if err != nil {
		return err
	}
	auditKeys, err := cfg.Audit.Keyring()
	if err != nil {
		return err
	}
	anchors, err := cfg.Audit.OpenAnchors(ctx, cfg.S3)
	if err != nil {
		return err
	}
	archived, err := objectstore.New(ctx, cfg.S3.WithBucket(cfg.HistoryArchiveBucket))
	if err != nil {
		return err
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s := &server{
		webhookPolicy: webhookPolicy, webhookRetry: webhookRetry, analytics: analytics.NewStore(pool),
		cfg: cfg, log: log, pool: pool, auditLog: audit.NewLog(pool, auditKeys), redis: rdb, temporal: tc,
		workflows: temporalPayments{client: tc, taskQueue: cfg.PaymentsTaskQueue},
		histories: timeline.NewHistories(tc, archive.New(pool, archived, archive.Lock{}), keys),
		keyring:   keys,
		dataKeys:  p.DataKeys,
		keys:      &keyResolver{pool: pool, redis: rdb, ttl: cfg.APIKeyCacheTTL},
		metrics:   newMetrics(registry),
		webhooks:  stripeevents.Verifier{Secrets: cfg.StripeWebhookSecrets, Tolerance: cfg.StripeWebhookTolerance, Now: time.Now},
		router:    stripeevents.NewRouter(pool, tc),

		stripeBreaker: breaker.Stripe,
		objects:       reports,
		anchors:       anchors,
		limiter:       redis_rate.NewLimiter(rdb),
		penalties:     newPenalties(maxPenalties, cfg.longestPenalty()),
		proxies:       proxies,
	}
	s.authFailures = newAuthFailureLog(s.record)
	if cfg.OIDCIssuerURL != "" {
		s.oidc = oidcauth.NewVerifier(oidcauth.Config{IssuerURL: cfg.OIDCIssuerURL, Audience: cfg.OIDCAudience,
			RolesClaim: cfg.OIDCRolesClaim, RoleMap: cfg.OIDCRoleMap}, &http.Client{Timeout: 10 * time.Second})
	}
	if len(cfg.StripeWebhookSecrets) == 0 {
		log.Warn("STRIPE_WEBHOOK_SECRETS is empty: every Stripe webhook will be refused")
	}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	stopTallies := s.authFailures.start(ctx)
	err = serve(ctx, log, cfg.ShutdownTimeout,
		&http.Server{Addr: cfg.Addr, Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			WriteTimeout: cfg.CreateTimeout + 10*time.Second, IdleTimeout: 2 * time.Minute},
		&http.Server{Addr: cfg.MetricsAddr, Handler: metricsMux, ReadHeaderTimeout: 5 * time.Second})
	// The servers are down: no failure is noted after this last flush.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	stopTallies(flushCtx)
	return err
}

// serve runs the servers until ctx ends, then shuts them down gracefully: in-flight requests
// get up to timeout to finish.
func serve(ctx context.Context, log *logrus.Entry, timeout time.Duration, servers ...*http.Server) error {
	errc := make(chan error, len(servers))
	for _, srv := range servers {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", srv.Addr, err)
		}
		log.WithField("addr", ln.Addr().String()).Info("listening")
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	log.Info("stopped")
	return nil
}
