package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// ActivateMerchant issues the merchant's secret key, opens its ledger accounts in its
// country's currency and requests the link that delivers the key to the merchant's contact
// address, in one database transaction. The key's secret is set when the merchant uses the
// link (merchants.RevealKey): the approving operator never sees it, the workflow's history
// never holds it, and Durapay stores only its hash. Running it twice issues one key.
func (o *Onboarding) ActivateMerchant(ctx context.Context, req schemas.ActivateMerchantRequest) (string, error) {
	var keyID string
	err := pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
		var err error
		if keyID, err = merchants.SecretKeyID(ctx, tx, req.MerchantID); err == nil {
			return nil // activated before: the retry finds the key
		}
		if !errors.Is(err, pg.ErrNotFound) {
			return err
		}
		key, err := merchants.IssueUnrevealedSecretKey(ctx, tx, req.MerchantID, merchants.ModeTest)
		if err != nil {
			return err
		}
		currency := money.CurrencyOfCountry(req.Country)
		for _, kind := range []ledger.AccountKind{ledger.MerchantBalance, ledger.Refunds} {
			if err := ledger.OpenAccount(ctx, tx, ledger.Account{Owner: req.MerchantID, Kind: kind, Currency: currency}); err != nil {
				return err
			}
		}
		keyID = key.ID
		return merchants.RequestKeyLink(ctx, tx, merchants.ActivationKeyLinkID(req.MerchantID), req.MerchantID, key.ID, "approval")
	})
	if err != nil {
		return "", fmt.Errorf("activate %s: %w", req.MerchantID, err)
	}
	return keyID, nil
}

// ExecActivateMerchant runs the activity as a local activity (options from ctx).
func ExecActivateMerchant(ctx workflow.Context, req schemas.ActivateMerchantRequest) (string, error) {
	var keyID string
	err := workflow.ExecuteLocalActivity(ctx, schemas.ActivateMerchantName, req).Get(ctx, &keyID)
	return keyID, err
}
