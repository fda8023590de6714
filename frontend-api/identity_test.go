package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/schemas"
)

func TestRestrictedKeysRotationAndRevocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	read := "/v1/payments/" + schemas.PaymentID(f.merchant, "none")

	if r := f.do(t, "POST", "/v1/api_keys", f.key, "", `{"name":"reports","scopes":["payments:read","teleport"]}`); r.status != 400 || r.errorField("param") != "scopes" {
		t.Fatalf("unknown scope: %d %s", r.status, r.raw)
	}
	created := f.do(t, "POST", "/v1/api_keys", f.key, "", `{"name":"reports","scopes":["payments:read"]}`)
	restricted, _ := created.body["secret"].(string)
	if created.status != 201 || restricted == "" || created.body["kind"] != "restricted" {
		t.Fatalf("create: %d %s", created.status, created.raw)
	}
	if r := f.do(t, "GET", read, restricted, "", ""); r.status != 404 { // allowed, and nothing there
		t.Fatalf("read with a read-only key: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "POST", "/v1/payments", restricted, "k1", visa); r.status != 403 {
		t.Fatalf("a payment with a read-only key: %d", r.status)
	}
	if r := f.do(t, "GET", "/v1/api_keys", restricted, "", ""); r.status != 403 {
		t.Fatalf("key management with a restricted key: %d", r.status)
	}

	// Roll: the new key works at once, the old one until its overlap ends.
	id := created.body["id"].(string)
	rolled := f.do(t, "POST", "/v1/api_keys/"+id+"/roll", f.key, "", `{"expires_in_seconds":1}`)
	fresh, _ := rolled.body["secret"].(string)
	if rolled.status != 201 || fresh == "" || rolled.body["scopes"].([]any)[0] != "payments:read" {
		t.Fatalf("roll: %d %s", rolled.status, rolled.raw)
	}
	for _, key := range []string{fresh, restricted} {
		if r := f.do(t, "GET", read, key, "", ""); r.status != 404 {
			t.Fatalf("during the overlap: %d", r.status)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	if r := f.do(t, "GET", read, restricted, "", ""); r.status != 401 {
		t.Fatalf("the rolled key after its overlap: %d", r.status)
	}

	// Revoke: refused at once, though the key was cached a moment ago.
	newID := rolled.body["id"].(string)
	if r := f.do(t, "POST", "/v1/api_keys/"+newID+"/revoke", f.key, "", ""); r.status != 200 || r.body["revoked"] == nil {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "GET", read, fresh, "", ""); r.status != 401 {
		t.Fatalf("a revoked key: %d", r.status)
	}

	entries, err := audit.List(context.Background(), f.srv.pool, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	if actions["api_key.create"] != 1 || actions["api_key.roll"] != 1 || actions["api_key.revoke"] != 1 {
		t.Fatalf("audit actions %v", actions)
	}
	if failures := f.authFailures(t); failures[codeAPIKeyInvalid] != 2 || failures["rows"] != 1 {
		t.Fatalf("the two refused keys are tallied as %v", failures)
	}
	if _, err := audit.Verify(f.auditKeys, nil, entries); err != nil {
		t.Fatal(err)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.cfg.RateLimitReads, f.srv.cfg.RateLimitWrites = 3, 2
	f.srv.limiter = redis_rate.NewLimiter(f.srv.redis)
	// A new server, so that the routes take the new limits.
	f = f.restart(t)
	read := "/v1/payments/" + schemas.PaymentID(f.merchant, "none")
	var limited reply
	for i := 0; i < 10; i++ {
		r := f.do(t, "GET", read, f.key, "", "")
		if r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") == "" || r.header.Get("RateLimit-Reset") == "" {
			t.Fatalf("headers %v", r.header)
		}
		if r.status == 429 {
			limited = r
			break
		}
	}
	retryAfter, _ := strconv.Atoi(limited.header.Get("Retry-After"))
	if limited.status != 429 || limited.errorCode() != codeRateLimited || retryAfter < 1 {
		t.Fatalf("over the read limit: %d %s Retry-After %q", limited.status, limited.raw, limited.header.Get("Retry-After"))
	}
	// While it is over, the penalty box answers before routing: the same answer, named.
	boxed := f.do(t, "GET", read, f.key, "", "")
	body, _ := boxed.body["error"].(map[string]any)
	if boxed.status != 429 || boxed.errorCode() != codeRateLimited || boxed.header.Get("RateLimit-Limit") != "3" ||
		boxed.header.Get("Request-Id") == "" || body["request_id"] != boxed.header.Get("Request-Id") {
		t.Fatalf("penalized read: %d %v %s", boxed.status, boxed.header, boxed.raw)
	}
	// Writes have their own budget: the reads spent theirs only.
	if r := f.do(t, "POST", "/v1/payments", f.key, "after-reads", visa); r.status != 201 {
		t.Fatalf("a payment after the reads: %d %s", r.status, r.raw)
	}
}
