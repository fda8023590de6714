package merchants

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
)

// Record is a merchant's row as its onboarding keeps it.
type Record struct {
	ID           string
	Name         string
	Status       schemas.MerchantStatus
	Country      string
	BusinessType string
	// Profile is the sealed legal name and contact (schemas.ProfilePurpose); nil for a
	// merchant created before onboarding existed.
	Profile         []byte
	StripeAccountID string
	WorkflowID      string
	RequestHash     string
	// CreatedBy and InvitedBy brought the merchant in (four eyes: neither approves it).
	CreatedBy string
	InvitedBy string
	// Onboarding is the onboarding's state as GET /v1/merchants/{id} shows it; nil before
	// the workflow first records it.
	Onboarding *schemas.OnboardingState
	CreatedAt  time.Time
}

// Get returns a merchant, or pg.ErrNotFound.
func Get(ctx context.Context, q pg.Querier, id string) (Record, error) {
	var r Record
	err := q.QueryRow(ctx, `SELECT id, name, status, coalesce(country, ''), coalesce(business_type, ''), profile,
		coalesce(stripe_account_id, ''), coalesce(workflow_id, ''), coalesce(request_hash, ''), coalesce(created_by, ''),
		coalesce(invited_by, ''), onboarding, created_at FROM merchants WHERE id = $1`, id).
		Scan(&r.ID, &r.Name, &r.Status, &r.Country, &r.BusinessType, &r.Profile, &r.StripeAccountID, &r.WorkflowID,
			&r.RequestHash, &r.CreatedBy, &r.InvitedBy, &r.Onboarding, &r.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, pg.ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("read merchant %s: %w", id, err)
	}
	return r, nil
}

// CreateOnboarding inserts the merchant an onboarding starts (status onboarding) with its
// sealed profile. Creating it twice creates it once.
func CreateOnboarding(ctx context.Context, q pg.Querier, in schemas.OnboardingInput, workflowID string) error {
	_, err := q.Exec(ctx, `
		INSERT INTO merchants (id, name, status, country, business_type, profile, workflow_id, request_hash, created_by, invited_by)
		VALUES ($1, '', 'onboarding', $2, $3, $4, $5, $6, nullif($7, ''), nullif($8, '')) ON CONFLICT (id) DO NOTHING`,
		in.MerchantID, in.Country, in.BusinessType, in.SealedProfile, workflowID, in.RequestHash, in.CreatedBy, in.InvitedBy)
	if err != nil {
		return fmt.Errorf("create merchant %s: %w", in.MerchantID, err)
	}
	return nil
}

// RecordOnboarding writes the onboarding's state on the merchant. The state only grows
// more complete, and a replay writes it again; a merchant that reached a final status
// (active, rejected, expired) keeps it, whatever a later run of its onboarding would write.
func RecordOnboarding(ctx context.Context, q pg.Querier, st schemas.OnboardingState) error {
	_, err := q.Exec(ctx, `UPDATE merchants SET status = $2, stripe_account_id = nullif($3, ''), onboarding = $4, updated_at = now()
		WHERE id = $1 AND (status NOT IN ('active', 'rejected', 'expired') OR status = $2)`, st.Merchant, st.Status, st.StripeAccountID, st)
	if err != nil {
		return fmt.Errorf("record onboarding of %s: %w", st.Merchant, err)
	}
	return nil
}

// SecretKeyID returns the merchant's first secret key, or pg.ErrNotFound.
func SecretKeyID(ctx context.Context, q pg.Querier, merchantID string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM api_keys WHERE merchant_id = $1 AND kind = 'secret' ORDER BY created_at LIMIT 1`,
		merchantID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", pg.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read the secret key of %s: %w", merchantID, err)
	}
	return id, nil
}
