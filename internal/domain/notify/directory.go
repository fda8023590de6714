package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/durapay/durapay/internal/domain/customers"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/payments"
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
	c, err := customers.Get(ctx, d.q, customerID)
	if errors.Is(err, pg.ErrNotFound) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("read customer %s: %w", customerID, err)
	}
	if err := envelope.Open(d.keys, c.Profile, schemas.CustomerPurpose(customerID), &p); err != nil {
		return p, false, fmt.Errorf("open customer %s: %w", customerID, err)
	}
	return p, true, nil
}

// merchant returns a merchant's profile; a merchant created without one (by an operator,
// before onboarding existed) has no contact details.
func (d directory) merchant(ctx context.Context, merchantID string) (schemas.MerchantProfile, error) {
	var p schemas.MerchantProfile
	m, err := merchants.Get(ctx, d.q, merchantID)
	if err != nil {
		return p, fmt.Errorf("read merchant %s: %w", merchantID, err)
	}
	if m.Profile != nil {
		if err := envelope.Open(d.keys, m.Profile, schemas.ProfilePurpose(merchantID), &p); err != nil {
			return p, fmt.Errorf("open merchant %s: %w", merchantID, err)
		}
	}
	if p.LegalName == "" {
		p.LegalName = m.Name
	}
	return p, nil
}

// payment reads the payment a refund email speaks of.
func (d directory) payment(ctx context.Context, paymentID string) (schemas.Payment, error) {
	r, err := payments.GetAny(ctx, d.q, paymentID)
	if err != nil {
		return schemas.Payment{}, fmt.Errorf("read payment %s: %w", paymentID, err)
	}
	return r.Payment, nil
}
