package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// directory finds who a notification goes to. Events carry IDs, never personal data: the
// addresses are read (and opened with the data keys) only here, at send time, so an event
// replayed after a customer's data was erased finds nobody to write to.
type directory struct {
	q    pg.Querier
	keys *keyring.Keyring
}

// customer returns a customer's profile; ok is false when there is no such customer.
func (d directory) customer(ctx context.Context, customerID string) (p schemas.CustomerProfile, ok bool, err error) {
	var sealed []byte
	err = d.q.QueryRow(ctx, `SELECT profile FROM customers WHERE id = $1`, customerID).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("read customer %s: %w", customerID, err)
	}
	if err := envelope.Open(d.keys, sealed, schemas.CustomerPurpose(customerID), &p); err != nil {
		return p, false, fmt.Errorf("open customer %s: %w", customerID, err)
	}
	return p, true, nil
}

// merchant returns a merchant's profile; a merchant created without one (by an operator,
// before onboarding existed) has no contact details.
func (d directory) merchant(ctx context.Context, merchantID string) (schemas.MerchantProfile, error) {
	var p schemas.MerchantProfile
	var sealed []byte
	var name string
	err := d.q.QueryRow(ctx, `SELECT name, profile FROM merchants WHERE id = $1`, merchantID).Scan(&name, &sealed)
	if err != nil {
		return p, fmt.Errorf("read merchant %s: %w", merchantID, err)
	}
	if sealed != nil {
		if err := envelope.Open(d.keys, sealed, schemas.ProfilePurpose(merchantID), &p); err != nil {
			return p, fmt.Errorf("open merchant %s: %w", merchantID, err)
		}
	}
	if p.LegalName == "" {
		p.LegalName = name
	}
	return p, nil
}

// paymentFacts is what a refund email says about the payment refunded.
type paymentFacts struct {
	customerID  string
	amount      int64
	captured    int64
	currency    string
	description string
	created     time.Time
}

func (d directory) payment(ctx context.Context, paymentID string) (paymentFacts, error) {
	var f paymentFacts
	var customer *string
	err := d.q.QueryRow(ctx, `SELECT customer_id, amount, amount_captured, currency, description, created_at FROM payments WHERE id = $1`, paymentID).
		Scan(&customer, &f.amount, &f.captured, &f.currency, &f.description, &f.created)
	if err != nil {
		return f, fmt.Errorf("read payment %s: %w", paymentID, err)
	}
	if customer != nil {
		f.customerID = *customer
	}
	return f, nil
}
