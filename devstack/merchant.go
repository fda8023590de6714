package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/pg"
)

// DevMerchant is the merchant `make dev` creates, with its secret key in clear, and a staff
// key (roles admin, operator, finance) for the admin API. The keys are kept in the state
// directory (never committed) so a restart prints the same keys.
type DevMerchant struct {
	ID        string `json:"id"`
	SecretKey string `json:"secret_key"`
	StaffKey  string `json:"staff_key"`
}

// DevMerchantID is the development merchant's readable ID.
const DevMerchantID = "mer_dev"

// SeedDevMerchant returns the development merchant, creating it and a key if the database
// lacks them (a first run, or a reset database).
func SeedDevMerchant(ctx context.Context, q pg.Querier, stateDir string) (DevMerchant, error) {
	path := filepath.Join(stateDir, "dev-merchant.json")
	if b, err := os.ReadFile(path); err == nil {
		var m DevMerchant
		if json.Unmarshal(b, &m) == nil && m.SecretKey != "" && m.StaffKey != "" {
			key, err := merchants.FindKey(ctx, q, merchants.HashKey(m.SecretKey))
			if err != nil && !errors.Is(err, pg.ErrNotFound) {
				return DevMerchant{}, err
			}
			staff, staffErr := merchants.FindKey(ctx, q, merchants.HashKey(m.StaffKey))
			if err == nil && key.MerchantID == m.ID && staffErr == nil && staff.Kind == merchants.KindStaff {
				return m, nil
			}
		}
	}
	if err := merchants.Create(ctx, q, merchants.Merchant{ID: DevMerchantID, Name: "Durapay development merchant"}); err != nil {
		return DevMerchant{}, err
	}
	secret, _, err := merchants.IssueSecretKey(ctx, q, DevMerchantID, merchants.ModeTest)
	if err != nil {
		return DevMerchant{}, err
	}
	// Development only: a month, so that long-lived `make dev` states keep working.
	staff, _, err := merchants.IssueStaffKey(ctx, q, "make dev", 30*24*time.Hour, merchants.RoleAdmin, merchants.RoleOperator, merchants.RoleFinance)
	if err != nil {
		return DevMerchant{}, err
	}
	m := DevMerchant{ID: DevMerchantID, SecretKey: secret, StaffKey: staff}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return DevMerchant{}, fmt.Errorf("save dev merchant: %w", err)
	}
	return m, nil
}
