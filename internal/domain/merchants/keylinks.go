package merchants

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/platform/pg"
)

// A merchant's secret key reaches the merchant by a single-use link sent to its contact
// address, never through the operator who approved the merchant. Approval issues the key
// with a secret nobody knows (IssueUnrevealedSecretKey) and requests a link
// (RequestKeyLink); the notifier gives the link a random token, of which only the SHA-256 is
// stored, and emails it (NextKeyLink, or ResetKeyLink when the email certainly did not
// leave); the merchant spends the link once (RevealKey), which gives the key a fresh secret
// that exists only in that answer. A later link for the same key replaces its secret again
// (a lost key), and supersedes the links not used yet.

// KeyTokenPrefix marks a key link's token.
const KeyTokenPrefix = "klt_"

// ErrKeyLinkInvalid: no live link has this token (unknown, used, expired or superseded).
var ErrKeyLinkInvalid = errors.New("the key link is not valid")

// KeyLink is one request to deliver a merchant's secret key.
type KeyLink struct {
	ID          string     `json:"id"`
	MerchantID  string     `json:"merchant"`
	KeyID       string     `json:"key"`
	RequestedBy string     `json:"requested_by"`
	CreatedAt   time.Time  `json:"created"`
	SentAt      *time.Time `json:"sent,omitempty"`
	ExpiresAt   *time.Time `json:"expires,omitempty"`
	UsedAt      *time.Time `json:"used,omitempty"`
}

// NewKeyLinkID draws the ID of a link an operator asks for.
func NewKeyLinkID() string { return "kl_" + randomBase62(20) }

// ActivationKeyLinkID is the link an approval requests: one per merchant, so that a
// retried activation requests it once.
func ActivationKeyLinkID(merchantID string) string { return "kl_activation_" + merchantID }

// IssueUnrevealedSecretKey creates the merchant's secret key with a random secret that is
// never shown: the key works once a key link gives it a secret the merchant receives.
func IssueUnrevealedSecretKey(ctx context.Context, q pg.Querier, merchantID string, mode Mode) (APIKey, error) {
	_, key, err := IssueSecretKey(ctx, q, merchantID, mode)
	return key, err
}

// RequestKeyLink queues a link that sets a fresh secret on the merchant's key keyID (a
// no-op if id exists). The merchant's earlier links that were not used stop working: only
// the newest may reveal a secret.
func RequestKeyLink(ctx context.Context, q pg.Querier, id, merchantID, keyID, requestedBy string) error {
	_, err := q.Exec(ctx, `
		WITH requested AS (
			INSERT INTO merchant_key_links (id, merchant_id, key_id, requested_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO NOTHING RETURNING id
		)
		UPDATE merchant_key_links SET superseded_at = now()
		WHERE merchant_id = $2 AND id <> $1 AND used_at IS NULL AND superseded_at IS NULL AND EXISTS (SELECT 1 FROM requested)`,
		id, merchantID, keyID, requestedBy)
	if err != nil {
		return fmt.Errorf("request key link for %s: %w", merchantID, err)
	}
	return nil
}

// NextKeyLink takes the oldest link waiting to be sent, gives it a fresh token valid for
// ttl, and returns both; ok is false when none waits. Concurrent senders take different
// links.
func NextKeyLink(ctx context.Context, q pg.Querier, ttl time.Duration) (link KeyLink, token string, ok bool, err error) {
	token = KeyTokenPrefix + randomBase62(40)
	err = q.QueryRow(ctx, `
		UPDATE merchant_key_links SET token_hash = $1, sent_at = now(), expires_at = now() + make_interval(secs => $2)
		WHERE id = (SELECT id FROM merchant_key_links WHERE token_hash IS NULL AND superseded_at IS NULL
		            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+keyLinkColumns, HashKey(token), ttl.Seconds()).
		Scan(link.fields()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return KeyLink{}, "", false, nil
	}
	if err != nil {
		return KeyLink{}, "", false, fmt.Errorf("take a key link to send: %w", err)
	}
	return link, token, true, nil
}

// ResetKeyLink puts a link whose email certainly did not leave back in the queue; its
// token is forgotten and the next send makes a new one.
func ResetKeyLink(ctx context.Context, q pg.Querier, id string) error {
	if _, err := q.Exec(ctx, `UPDATE merchant_key_links SET token_hash = NULL, sent_at = NULL, expires_at = NULL
		WHERE id = $1 AND used_at IS NULL`, id); err != nil {
		return fmt.Errorf("reset key link %s: %w", id, err)
	}
	return nil
}

// RevealKey spends the live link carrying token: it gives the link's key a fresh secret and
// returns it in clear, the only time it exists so, with the key as it was before (whose old
// hash callers drop from caches) and after, and the link. from (the user's address) is
// recorded on the link.
func RevealKey(ctx context.Context, pool *pgxpool.Pool, token, from string) (plain string, before, after APIKey, link KeyLink, err error) {
	if !strings.HasPrefix(token, KeyTokenPrefix) || len(token) > 100 {
		return "", APIKey{}, APIKey{}, KeyLink{}, ErrKeyLinkInvalid
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			UPDATE merchant_key_links SET used_at = now(), used_from = $2
			WHERE token_hash = $1 AND used_at IS NULL AND superseded_at IS NULL AND expires_at > now()
			RETURNING `+keyLinkColumns, HashKey(token), from).Scan(link.fields()...)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrKeyLinkInvalid
		}
		if err != nil {
			return err
		}
		if before, err = scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys
			WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) FOR UPDATE`, link.KeyID)); err != nil {
			if errors.Is(err, pg.ErrNotFound) {
				return fmt.Errorf("%w: its key was revoked", ErrKeyLinkInvalid)
			}
			return err
		}
		plain = "sk_" + strings.Split(before.Prefix, "_")[1] + "_" + randomBase62(32)
		after, err = scanKey(tx.QueryRow(ctx, `UPDATE api_keys SET key_hash = $2, key_prefix = $3 WHERE id = $1 RETURNING `+keyColumns,
			link.KeyID, HashKey(plain), plain[:12]))
		return err
	})
	if err != nil && !errors.Is(err, ErrKeyLinkInvalid) {
		err = fmt.Errorf("reveal key: %w", err)
	}
	return plain, before, after, link, err
}

const keyLinkColumns = `id, merchant_id, key_id, requested_by, created_at, sent_at, expires_at, used_at`

func (l *KeyLink) fields() []any {
	return []any{&l.ID, &l.MerchantID, &l.KeyID, &l.RequestedBy, &l.CreatedAt, &l.SentAt, &l.ExpiresAt, &l.UsedAt}
}
