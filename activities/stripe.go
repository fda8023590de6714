package activities

import (
	"time"

	"github.com/stripe/stripe-go/v76/client"
)

// idempotencyKeyTrusted is how long after a key's first use Durapay relies on Stripe to
// recognise it: Stripe keeps idempotent results for 24 hours; past this, a create step
// looks for the object it may have made before making one.
const idempotencyKeyTrusted = 23 * time.Hour

// Stripe calls Stripe's API.
type Stripe struct {
	// api holds its calls back with the process's rate limiter and circuit breaker
	// (internal/platform/stripeclient), as every Stripe client does.
	api *client.API
}

// NewStripe wires the Stripe activities to a client from internal/platform/stripeclient.
func NewStripe(api *client.API) *Stripe { return &Stripe{api: api} }
