// Package merchants stores merchants and their API keys.
package merchants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/pg"
)

// Merchant is a business that takes payments through Durapay.
type Merchant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// APIKey identifies who is behind a request: a merchant (a secret key) or one of Durapay's
// staff (a staff key, with roles). Only the key's hash is stored.
type APIKey struct {
	ID         string
	MerchantID string // empty for a staff key
	Name       string
	Roles      []string
	Prefix     string
	Kind       string
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// Key kinds.
const (
	KindSecret = "secret"
	KindStaff  = "staff"
)

// Staff roles.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleFinance  = "finance"
)

// Mode is the key's environment marker, as in Stripe's sk_test_ / sk_live_.
type Mode string

const (
	ModeTest Mode = "test"
	ModeLive Mode = "live"
)

var merchantIDPattern = regexp.MustCompile(`^mer_[A-Za-z0-9_]+$`)

// NewID draws a merchant ID.
func NewID() string { return "mer_" + randomBase62(20) }

// Create inserts a merchant; creating one that exists is a no-op.
func Create(ctx context.Context, q pg.Querier, m Merchant) error {
	if !merchantIDPattern.MatchString(m.ID) {
		return fmt.Errorf("invalid merchant ID %q", m.ID)
	}
	_, err := q.Exec(ctx, `INSERT INTO merchants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, m.ID, m.Name)
	if err != nil {
		return fmt.Errorf("create merchant %s: %w", m.ID, err)
	}
	return nil
}

// IssueSecretKey creates a secret API key for the merchant and returns it in clear, the only
// time it exists so: the caller shows it once.
func IssueSecretKey(ctx context.Context, q pg.Querier, merchantID string, mode Mode) (string, APIKey, error) {
	plain := "sk_" + string(mode) + "_" + randomBase62(32)
	k := APIKey{ID: "key_" + randomBase62(20), MerchantID: merchantID, Prefix: plain[:12], Kind: KindSecret}
	if err := insertKey(ctx, q, plain, &k); err != nil {
		return "", APIKey{}, fmt.Errorf("issue API key for %s: %w", merchantID, err)
	}
	return plain, k, nil
}

// IssueStaffKey creates a key for one of Durapay's own people (or tools) with roles, and
// returns it in clear, once.
func IssueStaffKey(ctx context.Context, q pg.Querier, name string, roles ...string) (string, APIKey, error) {
	plain := "sk_staff_" + randomBase62(32)
	k := APIKey{ID: "key_" + randomBase62(20), Name: name, Roles: roles, Prefix: plain[:13], Kind: KindStaff}
	if err := insertKey(ctx, q, plain, &k); err != nil {
		return "", APIKey{}, fmt.Errorf("issue staff key %q: %w", name, err)
	}
	return plain, k, nil
}

func insertKey(ctx context.Context, q pg.Querier, plain string, k *APIKey) error {
	roles := k.Roles
	if roles == nil {
		roles = []string{}
	}
	return q.QueryRow(ctx, `
		INSERT INTO api_keys (id, merchant_id, name, roles, key_hash, key_prefix, kind) VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING created_at`, k.ID, nullable(k.MerchantID), k.Name, roles, HashKey(plain), k.Prefix, k.Kind).Scan(&k.CreatedAt)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// HashKey is how a presented key is looked up. SHA-256 suffices: keys are long random
// strings, not passwords, so there is nothing for a slow hash to protect.
func HashKey(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// FindKey returns the live (unrevoked) key with this hash, or pg.ErrNotFound.
func FindKey(ctx context.Context, q pg.Querier, hash []byte) (APIKey, error) {
	var k APIKey
	err := q.QueryRow(ctx, `
		SELECT id, coalesce(merchant_id, ''), name, roles, key_prefix, kind, created_at, revoked_at
		  FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, hash).
		Scan(&k.ID, &k.MerchantID, &k.Name, &k.Roles, &k.Prefix, &k.Kind, &k.CreatedAt, &k.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, pg.ErrNotFound
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("find API key: %w", err)
	}
	return k, nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomBase62(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
		b[i] = base62[v.Int64()]
	}
	return string(b)
}
