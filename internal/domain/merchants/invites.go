package merchants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/pg"
)

// Invitations let a prospective merchant sign up without an operator: single use, stored
// as the token's SHA-256 only.

// ErrInviteInvalid: the invitation is unknown, expired, or spent on another merchant.
var ErrInviteInvalid = errors.New("the invitation is not valid")

// Invite is a new invitation: the token is in clear here only.
type Invite struct {
	Token   string
	Expires time.Time
}

// CreateInvite issues an invitation valid for ttl, created by createdBy.
func CreateInvite(ctx context.Context, q pg.Querier, createdBy string, ttl time.Duration) (Invite, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return Invite{}, err
	}
	inv := Invite{Token: "inv_" + hex.EncodeToString(b), Expires: time.Now().Add(ttl).UTC().Truncate(time.Second)}
	if _, err := q.Exec(ctx, `INSERT INTO invites (token_hash, created_by, expires_at) VALUES ($1, $2, $3)`,
		InviteHash(inv.Token), createdBy, inv.Expires); err != nil {
		return Invite{}, fmt.Errorf("create invite: %w", err)
	}
	return inv, nil
}

// InviteHash is how an invitation is stored and looked up.
func InviteHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ValidInvite reports whether the token is a live invitation: unexpired, and unused or
// spent on merchantID by an earlier try of the same sign-up.
func ValidInvite(ctx context.Context, q pg.Querier, token, merchantID string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invites WHERE token_hash = $1 AND expires_at > now()
		AND (used_at IS NULL OR merchant_id = $2))`, InviteHash(token), merchantID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check invite: %w", err)
	}
	return ok, nil
}

// UseInvite spends the invitation on the merchant and returns who issued it
// (ErrInviteInvalid if it cannot). The same sign-up retried finds it spent on its merchant
// and goes on.
func UseInvite(ctx context.Context, q pg.Querier, token, merchantID string) (inviter string, err error) {
	err = q.QueryRow(ctx, `UPDATE invites SET used_at = coalesce(used_at, now()), merchant_id = $2
		WHERE token_hash = $1 AND expires_at > now() AND (used_at IS NULL OR merchant_id = $2) RETURNING created_by`,
		InviteHash(token), merchantID).Scan(&inviter)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrInviteInvalid
	}
	if err != nil {
		return "", fmt.Errorf("use invite: %w", err)
	}
	return inviter, nil
}
