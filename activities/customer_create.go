package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/schemas"
)

// CreateCustomer creates the Stripe Customer and Durapay's record of it. It opens the
// sealed profile only to give Stripe the email and name. Running it twice creates one of
// each.
func (o *Onboarding) CreateCustomer(ctx context.Context, req schemas.CreateCustomerRequest) (schemas.Customer, error) {
	in := req.Input
	if c, err := o.customer(ctx, in.CustomerID); err == nil {
		return c, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return schemas.Customer{}, err
	}
	var profile schemas.CustomerProfile
	if err := envelope.Open(o.dataKeys, in.SealedProfile, schemas.CustomerPurpose(in.CustomerID), &profile); err != nil {
		return schemas.Customer{}, err
	}
	params := &stripe.CustomerParams{Email: stripe.String(profile.Email), Name: stripe.String(profile.Name)}
	if in.Description != "" {
		params.Description = stripe.String(in.Description)
	}
	params.AddMetadata("durapay_customer_id", in.CustomerID)
	params.AddMetadata(schemas.StripeMetadataMerchantID, in.MerchantID)
	params.SetIdempotencyKey(req.IdempotencyKey)
	params.Context = ctx
	cus, err := o.stripe.Customers.New(params)
	if err != nil {
		return schemas.Customer{}, ClassifyStripeError(err)
	}
	metadata := in.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	_, err = o.pool.Exec(ctx, `
		INSERT INTO customers (id, merchant_id, stripe_customer_id, profile, description, metadata, idempotency_key, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		in.CustomerID, in.MerchantID, cus.ID, in.SealedProfile, in.Description, metadata, in.IdempotencyKey, in.RequestHash)
	if err != nil {
		return schemas.Customer{}, fmt.Errorf("record customer %s: %w", in.CustomerID, err)
	}
	return o.customer(ctx, in.CustomerID)
}

func (o *Onboarding) customer(ctx context.Context, id string) (schemas.Customer, error) {
	c := schemas.Customer{ID: id, Object: "customer"}
	var created time.Time
	err := o.pool.QueryRow(ctx, `SELECT merchant_id, stripe_customer_id, description, metadata, created_at FROM customers WHERE id = $1`, id).
		Scan(&c.Merchant, &c.StripeCustomerID, &c.Description, &c.Metadata, &created)
	c.Created = created.Unix()
	return c, err
}

// ExecCreateCustomer runs the activity as a local activity (options from ctx).
func ExecCreateCustomer(ctx workflow.Context, req schemas.CreateCustomerRequest) (schemas.Customer, error) {
	var c schemas.Customer
	err := workflow.ExecuteLocalActivity(ctx, schemas.CreateCustomerName, req).Get(ctx, &c)
	return c, err
}
