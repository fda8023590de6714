package activities

import (
	"context"
	"errors"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/time/rate"

	"github.com/durapay/durapay/internal/breaker"
)

// idempotencyKeyTrusted is how long after a key's first use Durapay relies on Stripe to
// recognise it: Stripe keeps idempotent results for 24 hours; past this, a create step
// looks for the object it may have made before making one.
const idempotencyKeyTrusted = 23 * time.Hour

// Stripe calls Stripe's API.
type Stripe struct {
	api *client.API
	// limiter keeps this process within its share of Stripe's request rate. It is
	// client-side, not Temporal's task-queue activities-per-second limit, because the calls a
	// paying customer waits for run as local activities (no task queue round trip), which a
	// task-queue limit does not see. Configure STRIPE_RATE_LIMIT as the account's limit
	// divided by the number of worker replicas.
	limiter *rate.Limiter
	// breaker stops calling Stripe while it is failing; nil calls always.
	breaker *breaker.Breaker
}

// NewStripe wires the Stripe activities to a client, a rate limiter and a circuit breaker
// (nil for none).
func NewStripe(api *client.API, limiter *rate.Limiter, br *breaker.Breaker) *Stripe {
	return &Stripe{api: api, limiter: limiter, breaker: br}
}

// call makes one Stripe request through the rate limiter and the circuit breaker, and
// returns its error classified for Temporal.
func (s *Stripe) call(ctx context.Context, request func() error) error {
	if err := s.limiter.Wait(ctx); err != nil {
		return temporal.NewApplicationErrorWithOptions("Stripe rate limit of this worker: "+err.Error(), ErrTypeStripeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: rateLimitRetryDelay})
	}
	if s.breaker == nil {
		return ClassifyStripeError(request())
	}
	err := s.breaker.Do(request)
	var open *breaker.OpenError
	if errors.As(err, &open) {
		// Retried once the breaker may close: the payment waits instead of failing.
		return temporal.NewApplicationErrorWithOptions(open.Error(), ErrTypeStripeCircuitOpen,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: open.RetryAfter})
	}
	return ClassifyStripeError(err)
}

// IsStripeOutage says which errors from stripe-go mean that Stripe is failing, for the
// circuit breaker: 5xx answers and the network. A decline or a refused parameter is Stripe
// answering, and a 429 is Stripe pacing us (retried after a delay, not an outage).
func IsStripeOutage(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		return se.HTTPStatusCode >= 500
	}
	return true
}
