package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/internal/breaker"
	"github.com/durapay/durapay/internal/stripeclient"
)

// Error types that activities return, so that workflows can tell failures apart with
// errors.As(*temporal.ApplicationError) and Type(). Stored histories contain them: never
// rename one.
const (
	// ErrTypeStripeCard: the card was declined or rejected. Not retried: the same request
	// gets the same answer. Details: StripeFailure.
	ErrTypeStripeCard = "StripeCardError"
	// ErrTypeStripeInvalidRequest: Stripe refused the parameters (an unknown PaymentMethod, an
	// object in the wrong state). Not retried. Details: StripeFailure.
	ErrTypeStripeInvalidRequest = "StripeInvalidRequest"
	// ErrTypeStripeIdempotency: the idempotency key was used with other parameters, which
	// means a bug or tampering. Not retried. Details: StripeFailure.
	ErrTypeStripeIdempotency = "StripeIdempotencyError"
	// ErrTypeStripeAuthentication: Durapay's Stripe key was refused. Not retried.
	ErrTypeStripeAuthentication = "StripeAuthenticationError"
	// ErrTypeStripeRateLimited: 429 rate_limit or lock_timeout. Retried after NextRetryDelay.
	ErrTypeStripeRateLimited = "StripeRateLimited"
	// ErrTypeStripeUnavailable: 5xx, 409 (a concurrent request with the key) or the network.
	// Retried with the same idempotency key.
	ErrTypeStripeUnavailable = "StripeUnavailable"
	// ErrTypeStripeCircuitOpen: the circuit breaker holds calls back while Stripe fails.
	// Retried after NextRetryDelay, when the breaker lets a trial call through.
	ErrTypeStripeCircuitOpen = "StripeCircuitOpen"
)

// rateLimitRetryDelay is how long to wait after Stripe answers 429, or this worker's own
// rate limit holds a call back. Stripe asks clients to back off; one second spreads retries
// without holding a payment long.
const rateLimitRetryDelay = time.Second

// StripeFailure is what Stripe said about a request it refused, carried as the details of
// the non-retryable errors so that workflows can record it on the payment.
type StripeFailure struct {
	HTTPStatus      int
	Type            string // card_error, invalid_request_error, idempotency_error, ...
	Code            string
	DeclineCode     string
	Param           string
	Message         string
	PaymentIntentID string
	RequestID       string
}

// ClassifyStripeError turns an error from a Stripe client (stripe-go's, or the guard's that
// internal/stripeclient puts around every call) into the Temporal error that says whether
// and when to retry. It is the one place that decides, row by row:
//
//	Stripe answer                              retried   error type
//	402 card_error (declines)                  no        StripeCardError
//	400/404 invalid_request_error              no        StripeInvalidRequest
//	400 idempotency_error                      no        StripeIdempotencyError
//	401/403 authentication, permission         no        StripeAuthenticationError
//	429 rate_limit, lock_timeout               yes, after rateLimitRetryDelay   StripeRateLimited
//	409 (same key in flight), 5xx api_error    yes       StripeUnavailable
//	network error, timeout                     yes       StripeUnavailable
//	(this worker's rate limit, stripeclient)   yes, after rateLimitRetryDelay   StripeRateLimited
//	(circuit breaker open, stripeclient)       yes, when it may close   StripeCircuitOpen
//
// Retries reuse the request's idempotency key, so a retry of a request Stripe did apply
// returns the saved result instead of acting twice.
func ClassifyStripeError(err error) error {
	if err == nil {
		return nil
	}
	var open *breaker.OpenError
	switch {
	case errors.Is(err, stripeclient.ErrRateLimited):
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeStripeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: rateLimitRetryDelay})
	case errors.As(err, &open):
		// Retried once the breaker may close: the payment waits instead of failing.
		return temporal.NewApplicationErrorWithOptions(open.Error(), ErrTypeStripeCircuitOpen,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: open.RetryAfter})
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return temporal.NewApplicationErrorWithCause("Stripe unreachable: "+err.Error(), ErrTypeStripeUnavailable, err)
	}
	f := StripeFailure{HTTPStatus: se.HTTPStatusCode, Type: string(se.Type), Code: string(se.Code),
		DeclineCode: string(se.DeclineCode), Param: se.Param, Message: se.Msg, RequestID: se.RequestID}
	if se.PaymentIntent != nil {
		f.PaymentIntentID = se.PaymentIntent.ID
	}
	msg := fmt.Sprintf("Stripe %d %s %s: %s", se.HTTPStatusCode, se.Type, se.Code, se.Msg)
	switch {
	case se.Type == stripe.ErrorTypeCard:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeStripeCard, err, f)
	case se.Type == stripe.ErrorTypeIdempotency && se.HTTPStatusCode != 409:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeStripeIdempotency, err, f)
	case se.HTTPStatusCode == 401 || se.HTTPStatusCode == 403:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeStripeAuthentication, err, f)
	case se.HTTPStatusCode == 429:
		return temporal.NewApplicationErrorWithOptions(msg, ErrTypeStripeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: rateLimitRetryDelay})
	case se.HTTPStatusCode == 409 || se.HTTPStatusCode >= 500:
		return temporal.NewApplicationErrorWithCause(msg, ErrTypeStripeUnavailable, err)
	default: // 400, 404 invalid_request_error and anything else Stripe refused
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeStripeInvalidRequest, err, f)
	}
}

// StripeFailureOf extracts the StripeFailure carried by a non-retryable Stripe error that
// reached workflow code (wrapped in an ActivityError).
func StripeFailureOf(err error) (StripeFailure, string, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return StripeFailure{}, "", false
	}
	var f StripeFailure
	if !appErr.HasDetails() || appErr.Details(&f) != nil {
		return StripeFailure{}, "", false
	}
	return f, appErr.Type(), true
}
