package activities_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/internal/platform/breaker"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
)

// Every row of ClassifyStripeError's table.
func TestClassifyStripeError(t *testing.T) {
	t.Parallel()
	netErr := &url.Error{Op: "Post", URL: "https://api.stripe.com/v1/payment_intents", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	tests := []struct {
		name          string
		err           error
		wantType      string
		wantRetryable bool
		wantDelay     time.Duration
	}{
		{"card declined", &stripe.Error{HTTPStatusCode: 402, Type: stripe.ErrorTypeCard, Code: stripe.ErrorCodeCardDeclined, DeclineCode: stripe.DeclineCodeInsufficientFunds}, schemas.ErrTypeStripeCard, false, 0},
		{"invalid request", &stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeParameterInvalidInteger}, schemas.ErrTypeStripeInvalidRequest, false, 0},
		{"missing object", &stripe.Error{HTTPStatusCode: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing}, schemas.ErrTypeStripeInvalidRequest, false, 0},
		{"idempotency key reused", &stripe.Error{HTTPStatusCode: 400, Type: stripe.ErrorTypeIdempotency}, schemas.ErrTypeStripeIdempotency, false, 0},
		{"bad API key", &stripe.Error{HTTPStatusCode: 401, Type: stripe.ErrorTypeInvalidRequest}, schemas.ErrTypeStripeAuthentication, false, 0},
		{"permission", &stripe.Error{HTTPStatusCode: 403, Type: stripe.ErrorTypeInvalidRequest}, schemas.ErrTypeStripeAuthentication, false, 0},
		{"rate limited", &stripe.Error{HTTPStatusCode: 429, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeRateLimit}, schemas.ErrTypeStripeRateLimited, true, time.Second},
		{"lock timeout", &stripe.Error{HTTPStatusCode: 429, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeLockTimeout}, schemas.ErrTypeStripeRateLimited, true, time.Second},
		{"same key in flight", &stripe.Error{HTTPStatusCode: 409, Type: stripe.ErrorTypeIdempotency}, schemas.ErrTypeStripeUnavailable, true, 0},
		{"server error", &stripe.Error{HTTPStatusCode: 500, Type: stripe.ErrorTypeAPI}, schemas.ErrTypeStripeUnavailable, true, 0},
		{"service unavailable", &stripe.Error{HTTPStatusCode: 503, Type: stripe.ErrorTypeAPI}, schemas.ErrTypeStripeUnavailable, true, 0},
		{"network", netErr, schemas.ErrTypeStripeUnavailable, true, 0},
		{"timeout", context.DeadlineExceeded, schemas.ErrTypeStripeUnavailable, true, 0},
		{"this worker's rate limit", fmt.Errorf("%w: %w", stripeclient.ErrRateLimited, errors.New("rate: Wait(n=1) would exceed context deadline")),
			schemas.ErrTypeStripeRateLimited, true, time.Second},
		{"circuit breaker open", &breaker.OpenError{Name: breaker.Stripe, RetryAfter: 7 * time.Second}, schemas.ErrTypeStripeCircuitOpen, true, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var appErr *temporal.ApplicationError
			if !errors.As(activities.ClassifyStripeError(tt.err), &appErr) {
				t.Fatalf("not an ApplicationError")
			}
			if appErr.Type() != tt.wantType || appErr.NonRetryable() == tt.wantRetryable || appErr.NextRetryDelay() != tt.wantDelay {
				t.Fatalf("got %s retryable=%v delay=%v, want %s retryable=%v delay=%v",
					appErr.Type(), !appErr.NonRetryable(), appErr.NextRetryDelay(), tt.wantType, tt.wantRetryable, tt.wantDelay)
			}
			if !errors.Is(appErr, tt.err) && !errors.As(appErr, new(*stripe.Error)) {
				t.Errorf("the original error is lost from the chain")
			}
		})
	}
	if err := activities.ClassifyStripeError(context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancellation must stay a cancellation, got %v", err)
	}
}
