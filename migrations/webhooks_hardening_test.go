package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/migrations"
)

// 00010 rewrites the errors that delivery logs stored as text into the classes merchants
// now see, so that no endpoint's words or Durapay's network details stay on show.
func TestWebhooksHardeningClassifiesStoredErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(pgtest.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	// Back to the rows as earlier versions wrote them.
	if _, err := provider.ApplyVersion(ctx, 10, false); err != nil {
		t.Fatal(err)
	}
	attempts := map[string]string{
		"endpoint answered 503 db-primary.internal is down":                                                                "http_status",
		`Post "http://127.0.0.3:8080/hook": dial tcp 127.0.0.3:8080: forbidden webhook destination: 127.0.0.3 is loopback`: "ssrf_refused",
		"invalid webhook endpoint URL: parse \"x\"":                                                                        "invalid_url",
		"the webhook endpoint is disabled":                                                                                 "endpoint_disabled",
		`Post "http://nowhere.invalid/hook": dial tcp: lookup nowhere.invalid on 10.255.255.53:53: no such host`:           "dns_error",
		`Post "https://h/hook": dial tcp: lookup h on 10.255.255.53:53: i/o timeout`:                                       "dns_error",
		`Post "http://h/hook": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`:                 "timeout",
		`Post "https://h/hook": net/http: TLS handshake timeout`:                                                           "timeout",
		`Post "https://h/hook": tls: failed to verify certificate: x509: certificate signed by unknown authority`:          "tls_error",
		`Post "http://10.1.2.3:443/hook": dial tcp 10.1.2.3:443: connect: connection refused`:                              "connection_refused",
		`Post "http://h/hook": read tcp 10.0.0.9:51234->1.2.3.4:443: read: connection reset by peer`:                       "connection_reset",
		`Post "http://h/hook": EOF`: "connection_reset",
		`Post "http://h/hook": net/http: HTTP/1.x transport connection broken: malformed HTTP response "\x00"`: "network_error",
		"timeout": "timeout",
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO merchants (id, name) VALUES ('mer_m10', 'M10')`,
		`INSERT INTO webhook_endpoints (id, merchant_id, url, enabled_events, secret) VALUES ('we_m10', 'mer_m10', 'https://h/hook', '{*}', '\x00')`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	for text := range attempts {
		i++
		// Each delivery failed after one attempt, last_error holding the workflow's reason.
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payload, status, attempts, last_error)
			VALUES ($1, 'we_m10', 'mer_m10', $1, 'payment.succeeded', '\x00', 'failed', 1, 'endpoint gone: ' || $2)`, text, text); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, duration_ms, error) VALUES ($1, 1, 5, $1)`, text); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payload, status, attempts)
		VALUES ('whd_ok', 'we_m10', 'mer_m10', 'evt_ok', 'payment.succeeded', '\x00', 'succeeded', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	if _, err := provider.ApplyVersion(ctx, 10, true); err != nil {
		t.Fatal(err)
	}
	for text, class := range attempts {
		var attempt, last string
		if err := db.QueryRowContext(ctx, `SELECT a.error, d.last_error FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
			WHERE a.delivery_id = $1`, text).Scan(&attempt, &last); err != nil {
			t.Fatal(err)
		}
		if attempt != class || last != class {
			t.Errorf("%q: attempt %q, delivery %q; want %q", text, attempt, last, class)
		}
	}
	var untouched *string
	if err := db.QueryRowContext(ctx, `SELECT last_error FROM webhook_deliveries WHERE id = 'whd_ok'`).Scan(&untouched); err != nil || untouched != nil {
		t.Errorf("a succeeded delivery's last_error: %v %v, want NULL", untouched, err)
	}
}
