// Package webhooks is what Durapay needs to send events to merchants: the signature a
// merchant verifies on each delivery (the same scheme as Stripe's, so the same code verifies
// both), and the guard that keeps a merchant-chosen endpoint URL from pointing Durapay's
// deliveries at its own network (SSRF).
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header is the signature header merchants verify: "Durapay-Signature: t=<unix>,v1=<hex>[,v1=<hex>]".
const Header = "Durapay-Signature"

// SecretPrefix starts every endpoint secret, as Stripe's start with the same "whsec_": a
// secret pasted into the wrong place is recognisable, and secret scanners know the prefix.
const SecretPrefix = "whsec_"

// ErrSignature is wrapped by every reason a delivery's signature is refused.
var ErrSignature = errors.New("invalid " + Header)

// Sign returns the header value for payload at t: one v1 per secret (two while a secret is
// rotated), each HMAC-SHA256(secret, "<t>.<payload>") in hex.
//
// Empty secrets are skipped rather than used as an empty HMAC key, which anyone could
// forge with: a header without any v1 fails verification, so the mistake shows at once.
func Sign(payload []byte, t time.Time, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(secret, ts, payload)))
	}
	return b.String()
}

// Verify is what a merchant (and Durapay's tests) run: the signature must match one of the
// secrets and t must be within tolerance of now, in the past or the future.
//
// The future bound goes beyond Stripe's own libraries, which check only the age: a
// signature dated ahead could otherwise be replayed for longer than the tolerance.
func Verify(payload []byte, header string, secrets []string, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		// Not ErrSignature: this is the verifier's configuration, not the sender's fault.
		return fmt.Errorf("webhooks: signature tolerance must be positive, got %s", tolerance)
	}
	if !hasSecret(secrets) {
		return fmt.Errorf("%w: no endpoint secret is configured", ErrSignature)
	}
	ts, signatures, err := parseHeader(header)
	if err != nil {
		return err
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed timestamp", ErrSignature)
	}
	signedAt := time.Unix(sec, 0)
	if skew := signedAt.Sub(now); skew > tolerance {
		return fmt.Errorf("%w: timestamp is %s in the future", ErrSignature, skew.Round(time.Second))
	}
	if age := now.Sub(signedAt); age > tolerance {
		return fmt.Errorf("%w: timestamp is %s old", ErrSignature, age.Round(time.Second))
	}
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		// The MAC covers the timestamp exactly as sent, so "t=0100" and "t=100" sign differently.
		want := mac(secret, ts, payload)
		for _, got := range signatures {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no v1 signature matches the endpoint's secrets", ErrSignature)
}

// NewSecret returns a fresh endpoint secret: "whsec_" and 32 random bytes in unpadded base64url.
func NewSecret() (string, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", fmt.Errorf("webhooks: generating a secret: %w", err)
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(key[:]), nil
}

// mac is HMAC-SHA256 keyed with the whole secret string, prefix included, as Stripe does:
// merchants pass the secret as shown to them, with nothing to decode.
func mac(secret, ts string, payload []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(payload)
	return h.Sum(nil)
}

func hasSecret(secrets []string) bool {
	for _, s := range secrets {
		if s != "" {
			return true
		}
	}
	return false
}

// parseHeader splits "t=<unix>,v1=<hex>[,v1=<hex>]" into the timestamp as sent and the
// decoded v1 signatures. Keys other than t and v1 are skipped, as Stripe's libraries skip
// them, so that a future scheme (v2=) can be added beside v1 without breaking anyone.
func parseHeader(header string) (ts string, signatures [][]byte, err error) {
	if strings.TrimSpace(header) == "" {
		return "", nil, fmt.Errorf("%w: the header is missing", ErrSignature)
	}
	seenT := false
	for part := range strings.SplitSeq(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, fmt.Errorf("%w: malformed element %q", ErrSignature, part)
		}
		switch key {
		case "t":
			if seenT {
				return "", nil, fmt.Errorf("%w: more than one timestamp", ErrSignature)
			}
			seenT = true
			if !allDigits(value) {
				return "", nil, fmt.Errorf("%w: malformed timestamp", ErrSignature)
			}
			ts = value
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size {
				return "", nil, fmt.Errorf("%w: malformed v1 signature", ErrSignature)
			}
			signatures = append(signatures, sig)
		}
	}
	if !seenT {
		return "", nil, fmt.Errorf("%w: no timestamp", ErrSignature)
	}
	if len(signatures) == 0 {
		return "", nil, fmt.Errorf("%w: no v1 signature", ErrSignature)
	}
	return ts, signatures, nil
}

// allDigits refuses what strconv.ParseInt would also accept: a sign, or nothing at all.
func allDigits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
