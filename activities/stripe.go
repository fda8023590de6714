// Package activities holds every side effect of Durapay's workflows: Stripe, Postgres, Kafka.
//
// One struct per dependency family (Stripe, Store, Events), dependencies injected through a
// constructor, one file per activity with its request type and a helper for workflow code.
// Every activity is safe to run twice: external writes carry deterministic idempotency keys
// and database writes use business keys with ON CONFLICT.
package activities

import (
	"context"

	"github.com/stripe/stripe-go/v76/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/time/rate"
)

// Stripe calls Stripe's API.
type Stripe struct {
	api *client.API
	// limiter keeps this process within its share of Stripe's request rate. It is
	// client-side, not Temporal's task-queue activities-per-second limit, because the calls a
	// paying customer waits for run as local activities (no task queue round trip), which a
	// task-queue limit does not see. Configure STRIPE_RATE_LIMIT as the account's limit
	// divided by the number of worker replicas.
	limiter *rate.Limiter
}

// NewStripe wires the Stripe activities to a client and a rate limiter.
func NewStripe(api *client.API, limiter *rate.Limiter) *Stripe {
	return &Stripe{api: api, limiter: limiter}
}

// wait takes a token from the rate limiter, or gives up when the activity's deadline would
// pass first (the activity is then retried).
func (s *Stripe) wait(ctx context.Context) error {
	if err := s.limiter.Wait(ctx); err != nil {
		return temporal.NewApplicationErrorWithOptions("Stripe rate limit of this worker: "+err.Error(), ErrTypeStripeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: rateLimitRetryDelay})
	}
	return nil
}
