package main

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/durapay/durapay/schemas"
)

// The penalty box knows a caller by the credential it presents, not by the whole
// Authorization header: a new Basic-auth password (which Durapay ignores) or the same key
// sent as a Bearer token is the same caller, turned away before routing. An answer from
// the box carries no RateLimit-Remaining: only the limiter in Redis knows it.
func TestPenaltyBoxKnowsTheCredentialNotTheHeader(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.cfg.RateLimitReads = 1
	f.srv.limiter = redis_rate.NewLimiter(f.srv.redis)
	f = f.restart(t)
	read := "/v1/payments/" + schemas.PaymentID(f.merchant, "none")
	basic := func(password string) string {
		return "Basic " + basicAuth(f.key, password)
	}
	var limited reply
	for range 5 {
		if limited = f.do(t, "GET", read, "", "", "", "Authorization", basic("")); limited.status == 429 {
			break
		}
	}
	if limited.status != 429 || limited.header.Get("RateLimit-Remaining") == "" {
		t.Fatalf("over the limit: %d %v", limited.status, limited.header)
	}
	for name, auth := range map[string]string{
		"another Basic password": basic("not-the-same"),
		"the key as a Bearer":    "Bearer " + f.key,
	} {
		r := f.do(t, "GET", read, "", "", "", "Authorization", auth)
		if r.status != 429 || r.header.Get("RateLimit-Remaining") != "" {
			t.Errorf("%s escaped the penalty box: %d RateLimit-Remaining %q", name, r.status, r.header.Get("RateLimit-Remaining"))
		}
	}
}

// A penalty is forgotten when it ends, at the latest when the box's time to live passes,
// and the box never holds more than its size: a flood of distinct credentials cannot grow
// it without bound.
func TestPenaltiesExpireAndAreBounded(t *testing.T) {
	t.Parallel()
	const size, ttl = 100, time.Second
	box := newPenalties(size, ttl)
	now := time.Now()
	for i := range 10 * size {
		box.hold(penaltyKeyOf(fmt.Sprint("sk_test_", i), "read"), penalty{until: now.Add(ttl), limit: 1})
	}
	if n := box.len(); n > size {
		t.Errorf("%d entries after %d distinct penalties: the box is not bounded to %d", n, 10*size, size)
	}
	short := penaltyKeyOf("sk_test_short", "write")
	box.hold(short, penalty{until: now.Add(50 * time.Millisecond), limit: 1})
	time.Sleep(100 * time.Millisecond)
	before := box.len()
	if _, ok := box.holding(short); ok {
		t.Fatal("a penalty holds after its end")
	}
	if after := box.len(); after != before-1 {
		t.Errorf("an ended penalty is still kept: %d entries before the lookup, %d after", before, after)
	}
	time.Sleep(ttl + 200*time.Millisecond)
	if n := box.len(); n != 0 {
		t.Errorf("%d entries kept after every penalty ended", n)
	}
}

func basicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}
