package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/envelope"
	"github.com/durapay/durapay/internal/ledger"
	"github.com/durapay/durapay/internal/merchants"
	"github.com/durapay/durapay/internal/money"
)

// ActivateMerchantName is the activity's registered name.
const ActivateMerchantName = "onboarding.ActivateMerchant"

// ActivateMerchantRequest activates an approved merchant.
type ActivateMerchantRequest struct {
	MerchantID string
	Country    string
}

// ActivateMerchant issues the merchant's secret API key and opens its ledger accounts in its
// country's currency, in one database transaction. The key's secret is kept sealed until
// the approving operator sees it once (merchants.RevealKey): it never enters the workflow's
// history. Running it twice issues one key.
func (o *Onboarding) ActivateMerchant(ctx context.Context, req ActivateMerchantRequest) (string, error) {
	var keyID string
	err := pgx.BeginFunc(ctx, o.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id FROM api_keys WHERE merchant_id = $1 AND kind = 'secret' ORDER BY created_at LIMIT 1`,
			req.MerchantID).Scan(&keyID)
		if err == nil {
			return nil // activated before: the retry finds the key
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		plain, key, err := merchants.IssueSecretKey(ctx, tx, req.MerchantID, merchants.ModeTest)
		if err != nil {
			return err
		}
		sealed, err := envelope.Seal(o.dataKeys, plain, merchants.RevealPurpose(key.ID))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO api_key_reveals (key_id, sealed) VALUES ($1, $2)`, key.ID, sealed); err != nil {
			return err
		}
		currency := money.CurrencyOfCountry(req.Country)
		for _, kind := range []ledger.AccountKind{ledger.MerchantBalance, ledger.Refunds} {
			if err := ledger.OpenAccount(ctx, tx, ledger.Account{Owner: req.MerchantID, Kind: kind, Currency: currency}); err != nil {
				return err
			}
		}
		keyID = key.ID
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("activate %s: %w", req.MerchantID, err)
	}
	return keyID, nil
}

// ExecActivateMerchant runs the activity as a local activity (options from ctx).
func ExecActivateMerchant(ctx workflow.Context, req ActivateMerchantRequest) (string, error) {
	var keyID string
	err := workflow.ExecuteLocalActivity(ctx, ActivateMerchantName, req).Get(ctx, &keyID)
	return keyID, err
}
