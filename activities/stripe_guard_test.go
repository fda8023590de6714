package activities_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/time/rate"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/internal/platform/breaker"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
)

// guardedFixture runs the payment, reconciliation and events backfill activities on one
// Stripe client, as the workers do.
type guardedFixture struct {
	sandbox *stripesandbox.Server
	env     *testsuite.TestActivityEnvironment
}

func newGuardedFixture(t *testing.T, limiter *rate.Limiter, br *breaker.Breaker) *guardedFixture {
	t.Helper()
	sb, cfg := newSandbox(t)
	cfg.Limiter, cfg.Breaker = limiter, br
	api := stripeclient.New(cfg)
	pool := pgtest.NewPool(t)
	env := newActivityEnv()
	registerStripe(env, activities.NewStripe(api))
	env.RegisterActivityWithOptions(activities.NewFinance(pool, nil, api).Reconcile, activity.RegisterOptions{Name: schemas.ReconcileName})
	env.RegisterActivityWithOptions(activities.NewStripeEvents(api, stripeevents.NewRouter(pool, refuseSignals{t}), pool).BackfillStripeEvents,
		activity.RegisterOptions{Name: schemas.BackfillStripeEventsName})
	return &guardedFixture{sandbox: sb, env: env}
}

// reconcileAndBackfill runs both activities and checks that each failed with an error of
// type want, retried after a delay of at most maxDelay, without a request reaching Stripe.
func (f *guardedFixture) reconcileAndBackfill(t *testing.T, want string, maxDelay time.Duration) {
	t.Helper()
	sent := len(f.sandbox.Requests())
	for name, input := range map[string]any{
		schemas.ReconcileName:            "2024-03-01",
		schemas.BackfillStripeEventsName: schemas.StripeEventsBackfillInput{Lookback: time.Hour, Overlap: time.Minute},
	} {
		_, err := f.env.ExecuteActivity(name, input)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != want || appErr.NonRetryable() || appErr.NextRetryDelay() <= 0 || appErr.NextRetryDelay() > maxDelay {
			t.Errorf("%s: %v; want a retryable %s, retried after at most %s", name, err, want, maxDelay)
		}
	}
	if reached := f.sandbox.Requests()[sent:]; len(reached) > 0 {
		t.Errorf("%d requests reached Stripe past the guard, first %s %s", len(reached), reached[0].Method, reached[0].Path)
	}
}

// Reconciliation and the events backfill call Stripe through the guard the payment
// activities use: the circuit breaker that Stripe's failures opened, and the rate limiter.
func TestEveryStripeCallPassesTheGuard(t *testing.T) {
	t.Parallel()
	t.Run("circuit breaker open", func(t *testing.T) {
		t.Parallel()
		br := newBreaker(breaker.Settings{Name: "stripe-guard-test", FailureRatio: 0.5, MinRequests: 2, OpenTimeout: time.Minute, Interval: time.Minute})
		f := newGuardedFixture(t, nil, br)
		if err := f.sandbox.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/", Mode: stripesandbox.FaultServerError, Times: 2}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ { // two 500s of two calls: the breaker opens
			_, err := f.env.ExecuteActivity(schemas.RetrievePaymentIntentName, schemas.RetrievePaymentIntentRequest{ID: "pi_1"})
			if !isType(err, schemas.ErrTypeStripeUnavailable) {
				t.Fatalf("failing call %d: %v", i, err)
			}
		}
		f.reconcileAndBackfill(t, schemas.ErrTypeStripeCircuitOpen, time.Minute)
	})
	t.Run("rate limit spent", func(t *testing.T) {
		t.Parallel()
		limiter := rate.NewLimiter(rate.Every(time.Hour), 1)
		limiter.Allow() // the next call may go in an hour, past the activities' deadline
		f := newGuardedFixture(t, limiter, nil)
		f.reconcileAndBackfill(t, schemas.ErrTypeStripeRateLimited, time.Second)
	})
}

// newBreaker is a Stripe circuit breaker of this process alone (no Redis), logging nowhere.
func newBreaker(s breaker.Settings) *breaker.Breaker {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return breaker.New(s, nil, logrus.NewEntry(log), stripeclient.IsOutage)
}
