package merchants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/platform/pg"
)

// A merchant's contact phone receives texts only once verified, so that nobody can point
// Durapay's SMS at numbers of their choosing (SMS pumping). The merchant asks for a code
// (RequestPhoneVerification); the notifier texts it to the contact number (NextPhoneCode, or
// ResetPhoneCode when the text certainly did not leave); the merchant enters it
// (ConfirmPhone), which records the number verified, as its hash (PhoneVerified).

// MaxPhoneCodeAttempts bounds the guesses at one code.
const MaxPhoneCodeAttempts = 5

var (
	// ErrPhoneCodeInvalid: the code is wrong, expired, spent or was never sent.
	ErrPhoneCodeInvalid = errors.New("the verification code is not valid")
	// ErrPhoneChanged: the contact number changed since the code was sent.
	ErrPhoneChanged = errors.New("the contact phone changed since the code was sent")
)

// PhoneHash is how a verified number is kept: the SHA-256 of its digits and plus sign.
func PhoneHash(phone string) []byte {
	h := sha256.Sum256([]byte(strings.Map(func(r rune) rune {
		if r == '+' || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, phone)))
	return h[:]
}

// PhoneVerification is one request to verify a merchant's contact phone.
type PhoneVerification struct {
	ID         string
	MerchantID string
	ExpiresAt  *time.Time
}

// RequestPhoneVerification queues a code for the merchant's contact phone; requests not
// confirmed yet stop working.
func RequestPhoneVerification(ctx context.Context, pool *pgxpool.Pool, merchantID string) (string, error) {
	id := "pv_" + randomBase62(20)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE merchant_phone_verifications SET superseded_at = now()
			WHERE merchant_id = $1 AND verified_at IS NULL AND superseded_at IS NULL`, merchantID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO merchant_phone_verifications (id, merchant_id) VALUES ($1, $2)`, id, merchantID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("request phone verification for %s: %w", merchantID, err)
	}
	return id, nil
}

// NextPhoneCode takes the oldest verification waiting to be sent, finds the merchant's
// contact number with phoneOf, gives it a fresh six-digit code valid for ttl, and returns
// them; ok is false when none waits. A merchant without a contact number has its request
// dropped. Concurrent senders take different verifications.
func NextPhoneCode(ctx context.Context, pool *pgxpool.Pool, ttl time.Duration, phoneOf func(merchantID string) (string, error)) (
	v PhoneVerification, phone, code string, ok bool, err error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return PhoneVerification{}, "", "", false, err
	}
	code = fmt.Sprintf("%06d", n.Int64())
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id, merchant_id FROM merchant_phone_verifications
			WHERE code_hash IS NULL AND superseded_at IS NULL ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED`).
			Scan(&v.ID, &v.MerchantID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if phone, err = phoneOf(v.MerchantID); err != nil {
			return err
		}
		if phone == "" {
			_, err := tx.Exec(ctx, `UPDATE merchant_phone_verifications SET superseded_at = now() WHERE id = $1`, v.ID)
			return err
		}
		ok = true
		return tx.QueryRow(ctx, `UPDATE merchant_phone_verifications SET code_hash = $2, sent_to_hash = $3, sent_at = now(),
			expires_at = now() + make_interval(secs => $4) WHERE id = $1 RETURNING expires_at`,
			v.ID, codeHash(v.ID, code), PhoneHash(phone), ttl.Seconds()).Scan(&v.ExpiresAt)
	})
	if err != nil {
		return PhoneVerification{}, "", "", false, fmt.Errorf("take a phone code to send: %w", err)
	}
	return v, phone, code, ok, nil
}

// ResetPhoneCode puts a verification whose text certainly did not leave back in the queue.
func ResetPhoneCode(ctx context.Context, q pg.Querier, id string) error {
	if _, err := q.Exec(ctx, `UPDATE merchant_phone_verifications SET code_hash = NULL, sent_at = NULL, expires_at = NULL
		WHERE id = $1 AND verified_at IS NULL`, id); err != nil {
		return fmt.Errorf("reset phone code %s: %w", id, err)
	}
	return nil
}

// ConfirmPhone checks a code against the merchant's live verification, counting the guess,
// and, when it matches, records the number the code was sent to as verified, provided it is
// still the merchant's contact number (phone: ErrPhoneChanged otherwise).
func ConfirmPhone(ctx context.Context, pool *pgxpool.Pool, merchantID, code, phone string) error {
	var wrong bool
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var id string
		var stored, sentTo []byte
		err := tx.QueryRow(ctx, `UPDATE merchant_phone_verifications SET attempts = attempts + 1
			WHERE id = (SELECT id FROM merchant_phone_verifications WHERE merchant_id = $1 AND code_hash IS NOT NULL
			            AND verified_at IS NULL AND superseded_at IS NULL AND expires_at > now() AND attempts < $2
			            ORDER BY created_at DESC LIMIT 1 FOR UPDATE)
			RETURNING id, code_hash, sent_to_hash`, merchantID, MaxPhoneCodeAttempts).Scan(&id, &stored, &sentTo)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrPhoneCodeInvalid
		}
		if err != nil {
			return fmt.Errorf("check phone code of %s: %w", merchantID, err)
		}
		if subtle.ConstantTimeCompare(stored, codeHash(id, code)) != 1 {
			wrong = true // the counted guess commits
			return nil
		}
		if subtle.ConstantTimeCompare(sentTo, PhoneHash(phone)) != 1 {
			return ErrPhoneChanged
		}
		if _, err := tx.Exec(ctx, `UPDATE merchant_phone_verifications SET verified_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE merchants SET phone_verified_hash = $2 WHERE id = $1`, merchantID, sentTo)
		return err
	})
	if wrong {
		return ErrPhoneCodeInvalid
	}
	return err
}

// PhoneVerified reports whether phone is the merchant's verified contact number.
func PhoneVerified(ctx context.Context, q pg.Querier, merchantID, phone string) (bool, error) {
	var verified []byte
	err := q.QueryRow(ctx, `SELECT phone_verified_hash FROM merchants WHERE id = $1`, merchantID).Scan(&verified)
	if err != nil {
		return false, fmt.Errorf("read the verified phone of %s: %w", merchantID, err)
	}
	return verified != nil && subtle.ConstantTimeCompare(verified, PhoneHash(phone)) == 1, nil
}

func codeHash(verificationID, code string) []byte {
	h := sha256.Sum256([]byte(verificationID + "\x00" + code))
	return h[:]
}
