package activities

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/envelope"
	"github.com/durapay/durapay/schemas"
)

// Activity names of Stripe Connect onboarding.
const (
	CreateConnectAccountName = "stripe.CreateConnectAccount"
	CreateAccountLinkName    = "stripe.CreateAccountLink"
	RetrieveAccountName      = "stripe.RetrieveAccount"
)

// ConnectAccount is what Durapay keeps of a connected account.
type ConnectAccount struct {
	ID             string
	ChargesEnabled bool
	CurrentlyDue   []string
}

// CreateConnectAccountRequest creates the merchant's express account.
type CreateConnectAccountRequest struct {
	IdempotencyKey string
	MerchantID     string
	WorkflowID     string
	Country        string
	BusinessType   string
}

// CreateConnectAccount opens the merchant's sealed profile (Stripe needs its email and
// name; nothing else does) and creates its Connect account, whose metadata leads Stripe's
// account.updated events back to the onboarding workflow.
func (o *Onboarding) CreateConnectAccount(ctx context.Context, req CreateConnectAccountRequest) (ConnectAccount, error) {
	var sealed []byte
	if err := o.pool.QueryRow(ctx, `SELECT profile FROM merchants WHERE id = $1`, req.MerchantID).Scan(&sealed); err != nil {
		return ConnectAccount{}, fmt.Errorf("read profile of %s: %w", req.MerchantID, err)
	}
	var profile schemas.MerchantProfile
	if err := envelope.Open(o.dataKeys, sealed, profilePurpose(req.MerchantID), &profile); err != nil {
		return ConnectAccount{}, err
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
		return ConnectAccount{}, ClassifyStripeError(err)
	}
	return fromStripeAccount(acct), nil
}

// CreateAccountLinkRequest asks for a KYC link for the account.
type CreateAccountLinkRequest struct {
	IdempotencyKey        string
	AccountID             string
	RefreshURL, ReturnURL string
}

// AccountLink is a KYC link and when it stops working.
type AccountLink struct {
	URL       string
	ExpiresAt int64
}

// CreateAccountLink creates an account_onboarding link for the merchant.
func (o *Onboarding) CreateAccountLink(ctx context.Context, req CreateAccountLinkRequest) (AccountLink, error) {
	params := &stripe.AccountLinkParams{Account: stripe.String(req.AccountID), Type: stripe.String("account_onboarding"),
		RefreshURL: stripe.String(req.RefreshURL), ReturnURL: stripe.String(req.ReturnURL)}
	params.SetIdempotencyKey(req.IdempotencyKey)
	params.Context = ctx
	link, err := o.stripe.AccountLinks.New(params)
	if err != nil {
		return AccountLink{}, ClassifyStripeError(err)
	}
	return AccountLink{URL: link.URL, ExpiresAt: link.ExpiresAt}, nil
}

// RetrieveAccount reads the account's current state, which the workflow follows rather
// than a webhook's snapshot.
func (o *Onboarding) RetrieveAccount(ctx context.Context, id string) (ConnectAccount, error) {
	acct, err := o.stripe.Accounts.GetByID(id, &stripe.AccountParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return ConnectAccount{}, ClassifyStripeError(err)
	}
	return fromStripeAccount(acct), nil
}

func fromStripeAccount(a *stripe.Account) ConnectAccount {
	out := ConnectAccount{ID: a.ID, ChargesEnabled: a.ChargesEnabled, CurrentlyDue: []string{}}
	if a.Requirements != nil && a.Requirements.CurrentlyDue != nil {
		out.CurrentlyDue = a.Requirements.CurrentlyDue
	}
	return out
}

// ExecCreateConnectAccount, ExecCreateAccountLink and ExecRetrieveAccount run the
// activities as local activities (options from ctx).
func ExecCreateConnectAccount(ctx workflow.Context, req CreateConnectAccountRequest) (ConnectAccount, error) {
	var a ConnectAccount
	err := workflow.ExecuteLocalActivity(ctx, CreateConnectAccountName, req).Get(ctx, &a)
	return a, err
}

func ExecCreateAccountLink(ctx workflow.Context, req CreateAccountLinkRequest) (AccountLink, error) {
	var l AccountLink
	err := workflow.ExecuteLocalActivity(ctx, CreateAccountLinkName, req).Get(ctx, &l)
	return l, err
}

func ExecRetrieveAccount(ctx workflow.Context, id string) (ConnectAccount, error) {
	var a ConnectAccount
	err := workflow.ExecuteLocalActivity(ctx, RetrieveAccountName, id).Get(ctx, &a)
	return a, err
}
