package activities_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
)

// The delivery log tells a merchant which kind of failure an attempt met, never the
// endpoint's own words nor Durapay's error text (addresses, resolvers, certificates): those
// may describe Durapay's network, and stay in the workers' logs.
func TestDeliveryLogShowsErrorClassesOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	spec, err := keyring.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	const merchant = "mer_hooklog"
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: merchant, Name: "Hook log"}); err != nil {
		t.Fatal(err)
	}

	hijack := func(answer string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			_, _ = buf.WriteString(answer)
			_ = buf.Flush()
		}
	}
	chatty := serveOn(t, hijack("HTTP/1.1 503 db-primary.internal is down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), false)
	hangUp := serveOn(t, hijack(""), false)
	slow := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}), false)
	untrusted := serveOn(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), true)
	closed, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := "http://" + closed.Addr().String() + "/hook"
	closed.Close()

	policy := webhooks.Policy{AllowHTTP: true, AllowedNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
		AllowedPorts: []webhooks.PortRange{{First: 1024, Last: 65535}}}
	w := activities.NewWebhooks(pool, keys, policy.Client(500*time.Millisecond))
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(w)
	store := webhooks.NewStore(pool, keys)

	tests := []struct {
		name, url, class string
		gone, disable    bool
	}{
		{"a non-2xx answer with a reason phrase of its own", chatty + "/hook", "http_status", false, false},
		{"no answer in time", slow + "/hook", "timeout", false, false},
		{"the connection closed without an answer", hangUp + "/hook", "connection_reset", false, false},
		{"a certificate nobody trusts", untrusted + "/hook", "tls_error", false, false},
		{"nobody listening", nobody, "connection_refused", false, false},
		{"a name that does not resolve", "http://nowhere.invalid:8080/hook", "dns_error", false, false},
		{"an address forbidden at dial time", "http://127.0.0.3:8080/hook", "ssrf_refused", true, false},
		{"a disabled endpoint", chatty + "/hook", "endpoint_disabled", true, true},
	}
	var lastID string
	for i, tt := range tests {
		e, err := store.CreateEndpoint(ctx, merchant, tt.url, "", []string{"*"})
		if err != nil {
			t.Fatal(err)
		}
		id, err := store.CreateDelivery(ctx, merchant, e.ID, schemas.Event{ID: fmt.Sprintf("evt_log_%d", i), Type: schemas.EventPaymentSucceeded}, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if tt.disable {
			if _, err := store.DisableEndpoint(ctx, merchant, e.ID); err != nil {
				t.Fatal(err)
			}
		}
		v, err := env.ExecuteActivity(w.Deliver, id, 1)
		if err != nil {
			t.Fatalf("%s: Deliver: %v", tt.name, err)
		}
		var res schemas.WebhookAttemptResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		if res.Error != tt.class || res.Gone != tt.gone || res.Succeeded {
			t.Errorf("%s: attempt error %q (gone %v), want %q (gone %v)", tt.name, res.Error, res.Gone, tt.class, tt.gone)
		}
		// As the workflow does: record the attempt, then give up with its own reason.
		reason := fmt.Sprintf("no 2xx answer in 1 attempts over %s", time.Minute)
		if res.Gone {
			reason = "endpoint gone: " + res.Error
		}
		if _, err := env.ExecuteActivity(w.RecordAttempt, res); err != nil {
			t.Fatal(err)
		}
		if _, err := env.ExecuteActivity(w.FailDelivery, schemas.WebhookDeliveryFailure{DeliveryID: id, Reason: reason}); err != nil {
			t.Fatal(err)
		}
		d, err := store.Delivery(ctx, merchant, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.LastError != tt.class || len(d.AttemptLog) != 1 || d.AttemptLog[0].Error != tt.class {
			t.Errorf("%s: delivery log last_error %q, attempts %+v; want %q", tt.name, d.LastError, d.AttemptLog, tt.class)
		}
		shown, _ := json.Marshal(d)
		for _, detail := range []string{"127.0.0", "db-primary", "x509", "dial", "nowhere", "lookup", "answered", "gone", "attempts over"} {
			if strings.Contains(string(shown), detail) {
				t.Errorf("%s: the delivery log shows %q: %s", tt.name, detail, shown)
			}
		}
		lastID = id
	}

	// Text a worker of an earlier version recorded, during a deployment, shows as a class.
	if _, err := pool.Exec(ctx, `UPDATE webhook_attempts SET error = 'dial tcp 10.0.0.7:443: connect: connection refused' WHERE delivery_id = $1`, lastID); err != nil {
		t.Fatal(err)
	}
	if d, err := store.Delivery(ctx, merchant, lastID); err != nil || d.AttemptLog[0].Error != "network_error" {
		t.Errorf("an attempt stored as text: %+v %v, want network_error", d.AttemptLog, err)
	}
}

// serveOn serves h on 127.0.0.2 (the network the test's policy allows), over TLS with
// httptest's own certificate if tls, and returns its URL.
func serveOn(t *testing.T, h http.Handler, tls bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (Linux routes all of 127.0.0.0/8 to lo): %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv.URL
}
