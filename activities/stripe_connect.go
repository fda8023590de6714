package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/schemas"
)

// CreateConnectAccount opens the merchant's sealed profile (Stripe needs its email and
// name; nothing else does) and creates its Connect account, whose metadata leads Stripe's
// account.updated events back to the onboarding workflow.
//
// A merchant gets one account however often this runs: the account recorded on the merchant
// is returned; and once the first attempt may be older than Stripe's memory of the
// idempotency key (a run started again after Temporal's retention removed the first), the
// account is looked for at Stripe by its metadata before one is created.
func (o *Onboarding) CreateConnectAccount(ctx context.Context, req schemas.CreateConnectAccountRequest) (schemas.ConnectAccount, error) {
	m, err := merchants.Get(ctx, o.pool, req.MerchantID)
	if err != nil {
		return schemas.ConnectAccount{}, fmt.Errorf("connect account of %s: %w", req.MerchantID, err)
	}
	if m.StripeAccountID != "" {
		return o.RetrieveAccount(ctx, m.StripeAccountID)
	}
	// The merchant was created with the first attempt.
	if time.Since(m.CreatedAt) > idempotencyKeyTrusted {
		if acct, found, err := o.findConnectAccount(ctx, req.MerchantID); err != nil || found {
			return acct, err
		}
	}
	var profile schemas.MerchantProfile
	if err := envelope.Open(o.dataKeys, m.Profile, schemas.ProfilePurpose(req.MerchantID), &profile); err != nil {
		return schemas.ConnectAccount{}, err
	}
	params := &stripe.AccountParams{
		Type: stripe.String(string(stripe.AccountTypeExpress)), Country: stripe.String(req.Country),
		Email: stripe.String(profile.ContactEmail), BusinessType: stripe.String(req.BusinessType),
		BusinessProfile: &stripe.AccountBusinessProfileParams{Name: stripe.String(profile.LegalName)},
		Capabilities: &stripe.AccountCapabilitiesParams{
			CardPayments: &stripe.AccountCapabilitiesCardPaymentsParams{Requested: stripe.Bool(true)},
			Transfers:    &stripe.AccountCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
	}
	params.AddMetadata(schemas.StripeMetadataMerchantID, req.MerchantID)
	params.AddMetadata(schemas.StripeMetadataWorkflowID, req.WorkflowID)
	params.SetIdempotencyKey(req.IdempotencyKey)
	params.Context = ctx
	acct, err := o.stripe.Accounts.New(params)
	if err != nil {
		return schemas.ConnectAccount{}, ClassifyStripeError(err)
	}
	return fromStripeAccount(acct), nil
}

// findConnectAccount looks for the merchant's account among the platform's connected
// accounts (Stripe offers no search on accounts' metadata: every page is read).
func (o *Onboarding) findConnectAccount(ctx context.Context, merchantID string) (schemas.ConnectAccount, bool, error) {
	params := &stripe.AccountListParams{}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	it := o.stripe.Accounts.List(params)
	for it.Next() {
		if a := it.Account(); a.Metadata[schemas.StripeMetadataMerchantID] == merchantID {
			return fromStripeAccount(a), true, nil
		}
	}
	return schemas.ConnectAccount{}, false, ClassifyStripeError(it.Err())
}

// CreateAccountLink creates an account_onboarding link for the merchant.
func (o *Onboarding) CreateAccountLink(ctx context.Context, req schemas.CreateAccountLinkRequest) (schemas.AccountLink, error) {
	params := &stripe.AccountLinkParams{Account: stripe.String(req.AccountID), Type: stripe.String("account_onboarding"),
		RefreshURL: stripe.String(req.RefreshURL), ReturnURL: stripe.String(req.ReturnURL)}
	params.SetIdempotencyKey(req.IdempotencyKey)
	params.Context = ctx
	link, err := o.stripe.AccountLinks.New(params)
	if err != nil {
		return schemas.AccountLink{}, ClassifyStripeError(err)
	}
	return schemas.AccountLink{URL: link.URL, ExpiresAt: link.ExpiresAt}, nil
}

// RetrieveAccount reads the account's current state, which the workflow follows rather
// than a webhook's snapshot.
func (o *Onboarding) RetrieveAccount(ctx context.Context, id string) (schemas.ConnectAccount, error) {
	acct, err := o.stripe.Accounts.GetByID(id, &stripe.AccountParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return schemas.ConnectAccount{}, ClassifyStripeError(err)
	}
	return fromStripeAccount(acct), nil
}

func fromStripeAccount(a *stripe.Account) schemas.ConnectAccount {
	out := schemas.ConnectAccount{ID: a.ID, ChargesEnabled: a.ChargesEnabled, CurrentlyDue: []string{}}
	if a.Requirements != nil && a.Requirements.CurrentlyDue != nil {
		out.CurrentlyDue = a.Requirements.CurrentlyDue
	}
	return out
}

// ExecCreateConnectAccount, ExecCreateAccountLink and ExecRetrieveAccount run the
// activities as local activities (options from ctx).
func ExecCreateConnectAccount(ctx workflow.Context, req schemas.CreateConnectAccountRequest) (schemas.ConnectAccount, error) {
	var a schemas.ConnectAccount
	err := workflow.ExecuteLocalActivity(ctx, schemas.CreateConnectAccountName, req).Get(ctx, &a)
	return a, err
}

func ExecCreateAccountLink(ctx workflow.Context, req schemas.CreateAccountLinkRequest) (schemas.AccountLink, error) {
	var l schemas.AccountLink
	err := workflow.ExecuteLocalActivity(ctx, schemas.CreateAccountLinkName, req).Get(ctx, &l)
	return l, err
}

func ExecRetrieveAccount(ctx workflow.Context, id string) (schemas.ConnectAccount, error) {
	var a schemas.ConnectAccount
	err := workflow.ExecuteLocalActivity(ctx, schemas.RetrieveAccountName, id).Get(ctx, &a)
	return a, err
}
