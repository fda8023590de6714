package activities

import (
	"context"
	"errors"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/customers"
	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// CreateCustomer creates the Stripe Customer and Durapay's record of it. It opens the
// sealed profile only to give Stripe the email and name. Running it twice creates one of
// each.
func (o *Onboarding) CreateCustomer(ctx context.Context, req schemas.CreateCustomerRequest) (schemas.Customer, error) {
	in := req.Input
	if c, err := customers.Get(ctx, o.pool, in.CustomerID); err == nil {
		return c.Customer, nil
	} else if !errors.Is(err, pg.ErrNotFound) {
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
	if err := customers.Insert(ctx, o.pool, customers.Record{
		Customer: schemas.Customer{ID: in.CustomerID, Merchant: in.MerchantID, StripeCustomerID: cus.ID, Description: in.Description,
			Metadata: in.Metadata},
		Profile: in.SealedProfile, IdempotencyKey: in.IdempotencyKey, RequestHash: in.RequestHash}); err != nil {
		return schemas.Customer{}, err
	}
	c, err := customers.Get(ctx, o.pool, in.CustomerID)
	return c.Customer, err
}

// ExecCreateCustomer runs the activity as a local activity (options from ctx).
func ExecCreateCustomer(ctx workflow.Context, req schemas.CreateCustomerRequest) (schemas.Customer, error) {
	var c schemas.Customer
	err := workflow.ExecuteLocalActivity(ctx, schemas.CreateCustomerName, req).Get(ctx, &c)
	return c, err
}
