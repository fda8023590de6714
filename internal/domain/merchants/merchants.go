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
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/platform/pg"
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
	ID         string     `json:"id"`
	MerchantID string     `json:"merchant,omitempty"` // empty for a staff key
	Name       string     `json:"name"`
	Roles      []string   `json:"roles,omitempty"`
	Scopes     []string   `json:"scopes,omitempty"` // a restricted key's
	Prefix     string     `json:"prefix"`
	Kind       string     `json:"kind"`
	CreatedAt  time.Time  `json:"created"`
	ExpiresAt  *time.Time `json:"expires,omitempty"` // a staff key's end, or a rolled key's end of overlap
	RevokedAt  *time.Time `json:"revoked,omitempty"`
	ReplacedBy string     `json:"replaced_by,omitempty"`
	Hash       []byte     `json:"-"`
}

// Key kinds.
const (
	KindSecret     = "secret"
	KindRestricted = "restricted"
	KindStaff      = "staff"
)

// Scopes a restricted key may carry. A secret key can do everything a merchant can.
const (
	ScopePaymentsRead   = "payments:read"
	ScopePaymentsWrite  = "payments:write"
	ScopeRefundsWrite   = "refunds:write"
	ScopeCustomersWrite = "customers:write"
)

// Scopes lists every scope.
var Scopes = []string{ScopePaymentsRead, ScopePaymentsWrite, ScopeRefundsWrite, ScopeCustomersWrite}

// ErrUnknownScope: a restricted key asked for a scope that does not exist.
var ErrUnknownScope = errors.New("unknown scope")

// MaxActiveKeys bounds a merchant's active keys (neither revoked nor expired): a leaked
// secret key cannot mint keys without end, and a merchant's keys stay few enough to review.
const MaxActiveKeys = 50

var (
	// ErrKeyLimit: the merchant has MaxActiveKeys active keys already.
	ErrKeyLimit = errors.New("the merchant has as many active API keys as allowed")
	// ErrAlreadyRolled: the key was rolled already; its replacement may be.
	ErrAlreadyRolled = errors.New("the API key was rolled already")
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

// Roles lists every staff role.
var Roles = []string{RoleAdmin, RoleOperator, RoleFinance}

// ErrUnknownRole: a staff key asked for a role that does not exist.
var ErrUnknownRole = errors.New("unknown role")

// IssueStaffKey creates a key for one of Durapay's own people (or tools) with roles, valid
// for ttl, and returns it in clear, once. Staff keys are a break-glass path beside sign-in
// with OIDC: they always expire.
func IssueStaffKey(ctx context.Context, q pg.Querier, name string, ttl time.Duration, roles ...string) (string, APIKey, error) {
	if ttl <= 0 {
		return "", APIKey{}, fmt.Errorf("issue staff key %q: a staff key needs a lifetime", name)
	}
	for _, r := range roles {
		if !slices.Contains(Roles, r) {
			return "", APIKey{}, fmt.Errorf("%w: %q", ErrUnknownRole, r)
		}
	}
	plain := "sk_staff_" + randomBase62(32)
	expires := time.Now().Add(ttl).UTC().Truncate(time.Second)
	k := APIKey{ID: "key_" + randomBase62(20), Name: name, Roles: roles, Prefix: plain[:13], Kind: KindStaff, ExpiresAt: &expires}
	if err := insertKey(ctx, q, plain, &k); err != nil {
		return "", APIKey{}, fmt.Errorf("issue staff key %q: %w", name, err)
	}
	return plain, k, nil
}

// ListStaffKeys lists the staff keys that still work, newest first.
func ListStaffKeys(ctx context.Context, q pg.Querier) ([]APIKey, error) {
	rows, err := q.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE kind = 'staff' AND revoked_at IS NULL
		AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC, id LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("list staff keys: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (APIKey, error) { return scanKey(row) })
}

// RevokeStaffKey ends a staff key at once, and returns it; pg.ErrNotFound for any other key.
func RevokeStaffKey(ctx context.Context, q pg.Querier, keyID string) (APIKey, error) {
	k, err := scanKey(q.QueryRow(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 AND kind = 'staff' RETURNING `+keyColumns, keyID))
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke staff key %s: %w", keyID, err)
	}
	return k, nil
}

// AddRestrictedKey creates a merchant key limited to scopes if the merchant has room for
// one more (ErrKeyLimit if not), and returns it in clear, once.
func AddRestrictedKey(ctx context.Context, pool *pgxpool.Pool, merchantID, name string, mode Mode, scopes []string) (string, APIKey, error) {
	var plain string
	var k APIKey
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := makeRoomForKey(ctx, tx, merchantID); err != nil {
			return err
		}
		var err error
		plain, k, err = IssueRestrictedKey(ctx, tx, merchantID, name, mode, scopes)
		return err
	})
	if err != nil {
		return "", APIKey{}, fmt.Errorf("add a restricted key for %s: %w", merchantID, err)
	}
	return plain, k, nil
}

// makeRoomForKey refuses one more key for a merchant at MaxActiveKeys. It locks the
// merchant's row first (NO KEY UPDATE: the inserts of other tables that reference the
// merchant go on), so that concurrent issuers count in turn, each after the one before has
// committed: the count is a statement of its own, with a snapshot taken after the lock.
func makeRoomForKey(ctx context.Context, tx pgx.Tx, merchantID string) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM merchants WHERE id = $1 FOR NO KEY UPDATE`, merchantID); err != nil {
		return fmt.Errorf("lock merchant %s: %w", merchantID, err)
	}
	var active int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE merchant_id = $1
		AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`, merchantID).Scan(&active); err != nil {
		return fmt.Errorf("count active keys of %s: %w", merchantID, err)
	}
	if active >= MaxActiveKeys {
		return fmt.Errorf("%w: %d", ErrKeyLimit, MaxActiveKeys)
	}
	return nil
}

// IssueRestrictedKey creates a merchant key limited to scopes, and returns it in clear, once.
// It does not check the merchant's cap: AddRestrictedKey does.
func IssueRestrictedKey(ctx context.Context, q pg.Querier, merchantID, name string, mode Mode, scopes []string) (string, APIKey, error) {
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			return "", APIKey{}, fmt.Errorf("%w: %q", ErrUnknownScope, sc)
		}
	}
	plain := "rk_" + string(mode) + "_" + randomBase62(32)
	k := APIKey{ID: "key_" + randomBase62(20), MerchantID: merchantID, Name: name, Scopes: scopes, Prefix: plain[:12], Kind: KindRestricted}
	if err := insertKey(ctx, q, plain, &k); err != nil {
		return "", APIKey{}, fmt.Errorf("issue restricted key for %s: %w", merchantID, err)
	}
	return plain, k, nil
}

func insertKey(ctx context.Context, q pg.Querier, plain string, k *APIKey) error {
	k.Hash = HashKey(plain)
	return q.QueryRow(ctx, `
		INSERT INTO api_keys (id, merchant_id, name, roles, scopes, key_hash, key_prefix, kind, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		RETURNING created_at`, k.ID, nullable(k.MerchantID), k.Name, nonNil(k.Roles), nonNil(k.Scopes), k.Hash, k.Prefix, k.Kind, k.ExpiresAt).
		Scan(&k.CreatedAt)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// RollKey replaces a merchant's live key by a new one of the same kind and scopes: the old
// key keeps working for overlap (so that the merchant can deploy the new one), then
// expires. It returns the new key in clear, once, and the old key (its hash lets callers
// drop it from caches). A key rolled already is not rolled again (ErrAlreadyRolled: its
// replacement is), and the new key needs room under MaxActiveKeys while the old one
// overlaps (ErrKeyLimit).
func RollKey(ctx context.Context, pool *pgxpool.Pool, merchantID, keyID string, overlap time.Duration) (string, APIKey, APIKey, error) {
	var plain string
	var fresh, old APIKey
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		if old, err = scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1 AND merchant_id = $2
			AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) FOR UPDATE`, keyID, merchantID)); err != nil {
			return err
		}
		if old.ReplacedBy != "" {
			return fmt.Errorf("%w by %s", ErrAlreadyRolled, old.ReplacedBy)
		}
		if err := makeRoomForKey(ctx, tx, merchantID); err != nil {
			return err
		}
		mode := Mode(strings.Split(old.Prefix, "_")[1])
		switch old.Kind {
		case KindRestricted:
			plain, fresh, err = IssueRestrictedKey(ctx, tx, merchantID, old.Name, mode, old.Scopes)
		default:
			plain, fresh, err = IssueSecretKey(ctx, tx, merchantID, mode)
		}
		if err != nil {
			return err
		}
		expires := time.Now().Add(overlap)
		old.ExpiresAt, old.ReplacedBy = &expires, fresh.ID
		_, err = tx.Exec(ctx, `UPDATE api_keys SET expires_at = $2, replaced_by = $3 WHERE id = $1`, old.ID, expires, fresh.ID)
		return err
	})
	if err != nil {
		return "", APIKey{}, APIKey{}, fmt.Errorf("roll key %s: %w", keyID, err)
	}
	return plain, fresh, old, nil
}

// RevokeKey ends a merchant's key at once, and returns it.
func RevokeKey(ctx context.Context, q pg.Querier, merchantID, keyID string) (APIKey, error) {
	k, err := scanKey(q.QueryRow(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 AND merchant_id = $2 RETURNING `+keyColumns, keyID, merchantID))
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke key %s: %w", keyID, err)
	}
	return k, nil
}

// ListKeys returns a page of a merchant's keys (newest first), and whether more follow.
func ListKeys(ctx context.Context, q pg.Querier, merchantID string, page pg.Page) ([]APIKey, bool, error) {
	keyset, args := page.Keyset(2)
	rows, err := q.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE merchant_id = $1 AND `+keyset, append([]any{merchantID}, args...)...)
	if err != nil {
		return nil, false, fmt.Errorf("list keys of %s: %w", merchantID, err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (APIKey, error) { return scanKey(row) })
	if err != nil {
		return nil, false, fmt.Errorf("list keys of %s: %w", merchantID, err)
	}
	keys, more := pg.Trim(page, keys)
	return keys, more, nil
}

// KeyCursor is where a merchant's key sits in the list of its keys, or pg.ErrNotFound.
func KeyCursor(ctx context.Context, q pg.Querier, merchantID, keyID string) (pg.Cursor, error) {
	c := pg.Cursor{ID: keyID}
	err := q.QueryRow(ctx, `SELECT created_at FROM api_keys WHERE id = $1 AND merchant_id = $2`, keyID, merchantID).Scan(&c.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return pg.Cursor{}, pg.ErrNotFound
	}
	if err != nil {
		return pg.Cursor{}, fmt.Errorf("find key %s: %w", keyID, err)
	}
	return c, nil
}

const keyColumns = `id, coalesce(merchant_id, ''), name, roles, scopes, key_prefix, kind, created_at, expires_at, revoked_at,
	coalesce(replaced_by, ''), key_hash`

func scanKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.MerchantID, &k.Name, &k.Roles, &k.Scopes, &k.Prefix, &k.Kind, &k.CreatedAt, &k.ExpiresAt,
		&k.RevokedAt, &k.ReplacedBy, &k.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, pg.ErrNotFound
	}
	return k, err
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

// FindKey returns the live key (not revoked, not expired) with this hash, or
// pg.ErrNotFound.
func FindKey(ctx context.Context, q pg.Querier, hash []byte) (APIKey, error) {
	k, err := scanKey(q.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`, hash))
	if err != nil && !errors.Is(err, pg.ErrNotFound) {
		return APIKey{}, fmt.Errorf("find API key: %w", err)
	}
	return k, err
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
