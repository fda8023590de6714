package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/internal/platform/breaker"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
)

// rateLimitRetryDelay is how long to wait after Stripe answers 429, or this worker's own
// rate limit holds a call back. Stripe asks clients to back off; one second spreads retries
// without holding a payment long.
const rateLimitRetryDelay = time.Second

// ClassifyStripeError turns an error from a Stripe client (stripe-go's, or the guard's that
// internal/platform/stripeclient puts around every call) into the Temporal error that says whether
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
		return temporal.NewApplicationErrorWithOptions(err.Error(), schemas.ErrTypeStripeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: rateLimitRetryDelay})
	case errors.As(err, &open):
		// Retried once the breaker may close: the payment waits instead of failing.
		return temporal.NewApplicationErrorWithOptions(open.Error(), schemas.ErrTypeStripeCircuitOpen,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: open.RetryAfter})
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return temporal.NewApplicationErrorWithCause("Stripe unreachable: "+err.Error(), schemas.ErrTypeStripeUnavailable, err)
	}
	f := schemas.StripeFailure{HTTPStatus: se.HTTPStatusCode, Type: string(se.Type), Code: string(se.Code),
		DeclineCode: string(se.DeclineCode), Param: se.Param, Message: se.Msg, RequestID: se.RequestID}
	if se.PaymentIntent != nil {
		f.PaymentIntentID = se.PaymentIntent.ID
	}
	msg := fmt.Sprintf("Stripe %d %s %s: %s", se.HTTPStatusCode, se.Type, se.Code, se.Msg)
	switch {
	case se.Type == stripe.ErrorTypeCard:
		return temporal.NewNonRetryableApplicationError(msg, schemas.ErrTypeStripeCard, err, f)
	case se.Type == stripe.ErrorTypeIdempotency && se.HTTPStatusCode != 409:
		return temporal.NewNonRetryableApplicationError(msg, schemas.ErrTypeStripeIdempotency, err, f)
	case se.HTTPStatusCode == 401 || se.HTTPStatusCode == 403:
		return temporal.NewNonRetryableApplicationError(msg, schemas.ErrTypeStripeAuthentication, err, f)
	case se.HTTPStatusCode == 429:
		return temporal.NewApplicationErrorWithOptions(msg, schemas.ErrTypeStripeRateLimited,
			temporal.ApplicationErrorOptions{Cause: err, NextRetryDelay: rateLimitRetryDelay})
	case se.HTTPStatusCode == 409 || se.HTTPStatusCode >= 500:
		return temporal.NewApplicationErrorWithCause(msg, schemas.ErrTypeStripeUnavailable, err)
	default: // 400, 404 invalid_request_error and anything else Stripe refused
		return temporal.NewNonRetryableApplicationError(msg, schemas.ErrTypeStripeInvalidRequest, err, f)
	}
}

// StripeFailureOf extracts the StripeFailure carried by a non-retryable Stripe error that
// reached workflow code (wrapped in an ActivityError).
func StripeFailureOf(err error) (schemas.StripeFailure, string, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return schemas.StripeFailure{}, "", false
	}
	var f schemas.StripeFailure
	if !appErr.HasDetails() || appErr.Details(&f) != nil {
		return schemas.StripeFailure{}, "", false
	}
	return f, appErr.Type(), true
}
