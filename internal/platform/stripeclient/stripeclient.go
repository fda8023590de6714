// Package stripeclient builds the stripe-go client that Durapay's processes share.
package stripeclient

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"golang.org/x/time/rate"

	"github.com/durapay/durapay/internal/platform/breaker"
)

// Config says where Stripe is, how long one HTTP call may take, and what holds calls back.
type Config struct {
	SecretKey string
	// APIBase is https://api.stripe.com in production; the sandbox or stripe-mock elsewhere.
	APIBase string
	// Timeout bounds one HTTP call. Stripe's own clients wait up to 80 s; a payment's caller
	// is waiting, so Durapay gives up sooner and retries with the same idempotency key.
	Timeout time.Duration
	// Limiter keeps this process within its share of Stripe's request rate; nil for no limit.
	// It is client-side, not Temporal's task-queue activities-per-second limit, because the
	// calls a paying customer waits for run as local activities (no task queue round trip),
	// which a task-queue limit does not see. Configure STRIPE_RATE_LIMIT as the account's
	// limit divided by the number of worker replicas.
	Limiter *rate.Limiter
	// Breaker stops calling Stripe while it is failing (build it with IsOutage); nil calls
	// always.
	Breaker *breaker.Breaker
}

// New returns a client for cfg. Every HTTP request it makes, each page of a list or a
// search included, waits for cfg.Limiter and goes through cfg.Breaker: whoever holds the
// client holds the guard.
//
// stripe-go's own network retries are off (MaxNetworkRetries 0): Temporal's activity retry
// policy is the one retry mechanism, so every attempt is bounded by the policy's budget,
// counted in the activity's attempt number and visible to operators, and each attempt reuses
// the same deterministic idempotency key. Two nested retry loops would multiply the time a
// payment can hang and hide attempts from the history.
func New(cfg Config) *client.API {
	backend := &guarded{
		next: stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
			URL:               stripe.String(cfg.APIBase),
			HTTPClient:        &http.Client{Timeout: cfg.Timeout},
			MaxNetworkRetries: stripe.Int64(0),
			EnableTelemetry:   stripe.Bool(false),
			LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		}),
		limiter: cfg.Limiter,
		breaker: cfg.Breaker,
	}
	api := &client.API{}
	api.Init(cfg.SecretKey, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
	return api
}

// IsOutage says which errors from stripe-go mean that Stripe is failing, for the circuit
// breaker: 5xx answers and the network. A decline or a refused parameter is Stripe
// answering, and a 429 is Stripe pacing us (retried after a delay, not an outage).
func IsOutage(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		return se.HTTPStatusCode >= 500
	}
	return true
}
