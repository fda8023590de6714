package activities

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/durapay/durapay/internal/platform/keyring"
)

// Onboarding creates merchants and their Stripe Connect accounts, and activates them.
type Onboarding struct {
	pool   *pgxpool.Pool
	stripe *client.API
	// dataKeys open merchants' and customers' sealed profiles, where Stripe needs the contact
	// details.
	dataKeys *keyring.Keyring
}

// NewOnboarding wires the onboarding activities.
func NewOnboarding(pool *pgxpool.Pool, stripe *client.API, dataKeys *keyring.Keyring) *Onboarding {
	return &Onboarding{pool: pool, stripe: stripe, dataKeys: dataKeys}
}
