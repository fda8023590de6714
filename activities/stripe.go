package activities

import "github.com/stripe/stripe-go/v76/client"

// Stripe calls Stripe's API.
type Stripe struct {
	// api holds its calls back with the process's rate limiter and circuit breaker
	// (internal/stripeclient), as every Stripe client does.
	api *client.API
}

// NewStripe wires the Stripe activities to a client from internal/stripeclient.
func NewStripe(api *client.API) *Stripe { return &Stripe{api: api} }
