// Package stripeevents receives Stripe's events, from webhooks and from the backfill that
// reads Stripe's Events list, and delivers each one once to the workflow it concerns.
package stripeevents

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// ErrSignature is wrapped by every reason a webhook's signature is refused.
var ErrSignature = errors.New("invalid Stripe-Signature")

// Verifier checks the Stripe-Signature header of a webhook on its raw body.
type Verifier struct {
	// Secrets are the endpoint's signing secrets (whsec_...). Two during a rotation: a
	// delivery is accepted when any v1 signature in its header matches any of them.
	Secrets []string
	// Tolerance bounds the signature's age, and (beyond stripe-go, which checks only the
	// past) how far in the future it may be: a replayed or pre-computed signature is refused.
	Tolerance time.Duration
	Now       func() time.Time
}

// Verify returns nil when the payload carries a valid, timely signature.
func (v Verifier) Verify(payload []byte, header string) error {
	if len(v.Secrets) == 0 {
		return fmt.Errorf("%w: no webhook secret is configured", ErrSignature)
	}
	signedAt, err := signatureTime(header)
	if err != nil {
		return err
	}
	now := v.Now()
	if skew := signedAt.Sub(now); skew > v.Tolerance {
		return fmt.Errorf("%w: timestamp is %s in the future", ErrSignature, skew.Round(time.Second))
	}
	if age := now.Sub(signedAt); age > v.Tolerance {
		return fmt.Errorf("%w: timestamp is %s old", ErrSignature, age.Round(time.Second))
	}
	for _, secret := range v.Secrets {
		// The age was checked above against our clock; stripe-go checks it against the
		// process clock, which tests cannot move.
		err = webhook.ValidatePayloadIgnoringTolerance(payload, header, secret)
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: %v", ErrSignature, err)
}

// signatureTime reads the t= of a header such as "t=1700000000,v1=abc,v1=def". A header
// with several is refused: stripe-go verifies the signature over the last one, so checking
// the age of any other would let an old signed event pass behind a fresh t=.
func signatureTime(header string) (time.Time, error) {
	if header == "" {
		return time.Time{}, fmt.Errorf("%w: the header is missing", ErrSignature)
	}
	var signedAt time.Time
	seen := false
	for _, part := range strings.Split(header, ",") {
		v, ok := strings.CutPrefix(part, "t=")
		if !ok {
			continue
		}
		if seen {
			return time.Time{}, fmt.Errorf("%w: more than one timestamp", ErrSignature)
		}
		seen = true
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: malformed timestamp", ErrSignature)
		}
		signedAt = time.Unix(sec, 0)
	}
	if !seen {
		return time.Time{}, fmt.Errorf("%w: no timestamp", ErrSignature)
	}
	return signedAt, nil
}
