// Package customers stores merchants' customers (table customers): a Stripe Customer each,
// with the customer's email and name sealed (internal/platform/envelope).
package customers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// Record is a customer as stored: the API's view, and what stays inside Durapay.
type Record struct {
	schemas.Customer
	// Profile is the sealed email and name (schemas.CustomerPurpose).
	Profile        []byte
	IdempotencyKey string
	RequestHash    string
}

// Insert records a customer; recording one that exists changes nothing (a retried
// activity).
func Insert(ctx context.Context, q pg.Querier, r Record) error {
	metadata := r.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	_, err := q.Exec(ctx, `
		INSERT INTO customers (id, merchant_id, stripe_customer_id, profile, description, metadata, idempotency_key, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Merchant, r.StripeCustomerID, r.Profile, r.Description, metadata, r.IdempotencyKey, r.RequestHash)
	if err != nil {
		return fmt.Errorf("record customer %s: %w", r.ID, err)
	}
	return nil
}

// Get returns a customer (any merchant's: callers that answer a merchant check the
// merchant), or pg.ErrNotFound.
func Get(ctx context.Context, q pg.Querier, id string) (Record, error) {
	r := Record{Customer: schemas.Customer{ID: id, Object: "customer"}}
	var created time.Time
	err := q.QueryRow(ctx, `SELECT merchant_id, stripe_customer_id, description, metadata, created_at, profile,
		idempotency_key, request_hash FROM customers WHERE id = $1`, id).
		Scan(&r.Merchant, &r.StripeCustomerID, &r.Description, &r.Metadata, &created, &r.Profile, &r.IdempotencyKey, &r.RequestHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, pg.ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("read customer %s: %w", id, err)
	}
	r.Created = created.Unix()
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	return r, nil
}

// OfMerchant returns the merchant's customer; another merchant's is as missing as none
// (pg.ErrNotFound).
func OfMerchant(ctx context.Context, q pg.Querier, merchantID, id string) (Record, error) {
	r, err := Get(ctx, q, id)
	if err == nil && r.Merchant != merchantID {
		return Record{}, pg.ErrNotFound
	}
	return r, err
}
