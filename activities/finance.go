package activities

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/durapay/durapay/internal/platform/objectstore"
)

// Finance produces finance's reports and reconciliations from the ledger.
type Finance struct {
	pool    *pgxpool.Pool
	objects *objectstore.Store
	stripe  *client.API
}

// NewFinance wires the finance activities to Postgres, the report bucket and Stripe.
func NewFinance(pool *pgxpool.Pool, objects *objectstore.Store, stripe *client.API) *Finance {
	return &Finance{pool: pool, objects: objects, stripe: stripe}
}
