// Package stripeclient builds the stripe-go client that Durapay's processes share.
package stripeclient

import (
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Config says where Stripe is and how long one HTTP call may take.
type Config struct {
	SecretKey string
	// APIBase is https://api.stripe.com in production; the sandbox or stripe-mock elsewhere.
	APIBase string
	// Timeout bounds one HTTP call. Stripe's own clients wait up to 80 s; a payment's caller
	// is waiting, so Durapay gives up sooner and retries with the same idempotency key.
	Timeout time.Duration
}

// New returns a client for cfg.
//
// stripe-go's own network retries are off (MaxNetworkRetries 0): Temporal's activity retry
// policy is the one retry mechanism, so every attempt is bounded by the policy's budget,
// counted in the activity's attempt number and visible to operators, and each attempt reuses
// the same deterministic idempotency key. Two nested retry loops would multiply the time a
// payment can hang and hide attempts from the history.
func New(cfg Config) *client.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(cfg.APIBase),
		HTTPClient:        &http.Client{Timeout: cfg.Timeout},
		MaxNetworkRetries: stripe.Int64(0),
		EnableTelemetry:   stripe.Bool(false),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	api := &client.API{}
	api.Init(cfg.SecretKey, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
	return api
}
