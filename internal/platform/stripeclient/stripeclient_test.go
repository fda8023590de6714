package stripeclient_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"golang.org/x/time/rate"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/platform/breaker"
	"github.com/durapay/durapay/internal/platform/stripeclient"
)

func newSandbox(t *testing.T) (*stripesandbox.Server, stripeclient.Config) {
	t.Helper()
	sb, err := stripesandbox.New(stripesandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); _ = sb.Close() })
	return sb, stripeclient.Config{SecretKey: "sk_test_guard", APIBase: srv.URL, Timeout: 5 * time.Second}
}

// customers creates n customers and lists them one per page: n requests, then n pages.
func customers(t *testing.T, api *client.API, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := api.Customers.New(&stripe.CustomerParams{Email: stripe.String("c@example.com")}); err != nil {
			t.Fatal(err)
		}
	}
	params := &stripe.CustomerListParams{}
	params.Limit = stripe.Int64(1)
	listed := 0
	for it := api.Customers.List(params); it.Next(); {
		listed++
	}
	if listed != n {
		t.Fatalf("listed %d customers, want %d", listed, n)
	}
}

// listPage asks for one page of customers, and returns what stopped it.
func listPage(ctx context.Context, api *client.API) error {
	params := &stripe.CustomerListParams{}
	params.Context = ctx
	it := api.Customers.List(params)
	for it.Next() {
	}
	return it.Err()
}

// Each request the client makes, every page of a list included, takes a turn from the
// limiter: once the burst is spent, the next one waits or, when it cannot wait that long,
// is refused without reaching Stripe.
func TestEveryRequestWaitsForTheLimiter(t *testing.T) {
	t.Parallel()
	sb, cfg := newSandbox(t)
	cfg.Limiter = rate.NewLimiter(rate.Every(time.Hour), 6)
	api := stripeclient.New(cfg)
	customers(t, api, 3) // 3 creates and 3 pages: the burst

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := listPage(ctx, api); !errors.Is(err, stripeclient.ErrRateLimited) {
		t.Fatalf("a seventh request: %v, want %v", err, stripeclient.ErrRateLimited)
	}
	if n := len(sb.Requests()); n != 6 {
		t.Fatalf("Stripe saw %d requests, want the 6 the limiter let through", n)
	}
}

// Each request goes through the circuit breaker: outages (5xx) open it, and then no
// request, a list's page included, reaches Stripe until it may close.
func TestEveryRequestPassesTheBreaker(t *testing.T) {
	t.Parallel()
	sb, cfg := newSandbox(t)
	log := logrus.New()
	log.SetOutput(io.Discard)
	cfg.Breaker = breaker.New(breaker.Settings{Name: "stripe-client-test", FailureRatio: 0.5, MinRequests: 4, OpenTimeout: time.Minute, Interval: time.Minute},
		nil, logrus.NewEntry(log), stripeclient.IsOutage)
	api := stripeclient.New(cfg)
	// Answers, refusals among them, are not outages: a create, a page, a 404.
	customers(t, api, 1)
	if _, err := api.Customers.Get("cus_missing", nil); err == nil {
		t.Fatal("a missing customer was found")
	}
	// Then 500s: the breaker opens when they are half of the calls, at the third.
	if err := sb.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/customers", Mode: stripesandbox.FaultServerError, Times: 3}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		var open *breaker.OpenError
		if err := listPage(context.Background(), api); errors.As(err, &open) || !stripeclient.IsOutage(err) {
			t.Fatalf("failing call %d: %v, want Stripe's 500", i, err)
		}
	}
	sent := len(sb.Requests())
	var open *breaker.OpenError
	if err := listPage(context.Background(), api); !errors.As(err, &open) || open.RetryAfter <= 0 || open.RetryAfter > time.Minute {
		t.Fatalf("with the breaker open: %v, want a %T saying when it may close", err, open)
	}
	if n := len(sb.Requests()); n != sent {
		t.Fatalf("%d requests reached Stripe while the breaker was open", n-sent)
	}
}
