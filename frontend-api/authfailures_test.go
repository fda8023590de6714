package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/schemas"
)

// randomSource is a client address no other test uses (198.18.0.0/15, for benchmarks), so
// that its failure budget in the shared Redis is its own.
func randomSource() string {
	return fmt.Sprintf("198.%d.%d.%d", 18+rand.IntN(2), rand.IntN(256), 1+rand.IntN(254))
}

// withFailureBudget gives the fixture's server a budget of failed authentications per
// source and minute (the fixture's is too large to matter).
func (f *fixture) withFailureBudget(perMinute int) *fixture {
	f.srv.cfg.AuthFailuresPerMinute = perMinute
	f.srv.penalties = newPenalties(maxPenalties, f.srv.cfg.longestPenalty())
	return f
}

// behindProxy makes the fixture trust loopback as its proxy, so that a test names each
// request's source in X-Forwarded-For.
func (f *fixture) behindProxy() {
	f.srv.proxies = trustedProxies{netip.MustParsePrefix("127.0.0.0/8")}
}

// authFailures flushes the fixture's tally of failed authentications to the audit log and
// sums its rows' counts by kind (and "count"), and "rows".
func (f *fixture) authFailures(t *testing.T) map[string]int {
	t.Helper()
	f.srv.authFailures.flush(context.Background(), farFuture)
	entries, err := audit.List(context.Background(), f.srv.pool, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int{}
	for _, e := range entries {
		if e.Action != "auth.failure" {
			continue
		}
		sums["rows"]++
		for k, v := range e.Details {
			if n, err := strconv.Atoi(v); err == nil {
				sums[k] += n
			}
		}
	}
	return sums
}

// A flood of bad keys from one address costs Postgres a handful of lookups and the audit
// log a handful of rows: past its failure budget the source is refused 429 before any
// lookup, and its failures are tallied into one audit row per minute. Another address is
// not affected.
func TestAuthFailureFloodFromOneSource(t *testing.T) {
	t.Parallel()
	f := newFixture(t).withFailureBudget(20)
	f.behindProxy()
	source := randomSource()
	read := "/v1/payments/" + schemas.PaymentID(f.merchant, "none")
	const flood, senders = 2000, 8
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := s; i < flood; i += senders {
				r := f.do(t, "GET", read, fmt.Sprintf("sk_test_guess%08d", i), "", "", "X-Forwarded-For", source)
				if r.status == 429 && r.header.Get("Retry-After") == "" {
					t.Errorf("a 429 without Retry-After: %v", r.header)
				}
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("answers to %d bad keys from one address: %v", flood, statuses)
	// The budget is 20 a minute, one more every 3 s: a few more while the flood lasts.
	if statuses[401] > 30 || statuses[401]+statuses[429] != flood {
		t.Errorf("answers to %d bad keys from one address: %v; want at most 30 401s, the rest 429", flood, statuses)
	}
	if r := f.do(t, "GET", read, f.key, "", ""); r.status != 404 {
		t.Errorf("another address during the flood: %d %s", r.status, r.raw)
	}

	// Held: another 100 bad keys do no Postgres work (one lookup if the penalty just lapsed).
	before := f.srv.pool.Stat().AcquireCount()
	for i := range 100 {
		f.do(t, "GET", read, fmt.Sprintf("sk_test_again%08d", i), "", "", "X-Forwarded-For", source)
	}
	if n := f.srv.pool.Stat().AcquireCount() - before; n > 2 {
		t.Errorf("100 bad keys from a source over its budget took %d Postgres connections", n)
	}

	f.srv.authFailures.flush(context.Background(), farFuture)
	entries, err := audit.List(context.Background(), f.srv.pool, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	rows, counted := 0, 0
	for _, e := range entries {
		if e.Action == "auth.failure" {
			rows++
			if e.Remote == source {
				n, _ := strconv.Atoi(e.Details["count"])
				counted += n
			}
		}
	}
	t.Logf("%d audit rows of failed authentications, counting %d failures from the flood's address", rows, counted)
	if rows > 30 || counted != flood+100 {
		t.Errorf("%d bad keys from one address wrote %d audit rows counting %d failures; want at most 30 rows counting all",
			flood+100, rows, counted)
	}
	if _, err := audit.Verify(f.auditKeys, nil, entries); err != nil {
		t.Fatal(err)
	}
}

// The tally writes one row per source and minute once the minute is over, keeps a bounded
// number of sources, and writes what is left when it is stopped.
func TestAuthFailureTallies(t *testing.T) {
	t.Parallel()
	var rows []audit.Entry
	l := newAuthFailureLog(func(_ context.Context, e audit.Entry) { rows = append(rows, e) })
	clock := time.Date(2026, 11, 30, 10, 0, 10, 0, time.UTC)
	l.now = func() time.Time { return clock }
	for range 3 {
		l.note("203.0.113.7", codeAPIKeyInvalid, "sk_test_abcd…")
	}
	l.note("203.0.113.7", codeRateLimited, "")
	l.note("198.51.100.1", codeTokenInvalid, "")
	clock = clock.Add(time.Minute)
	l.note("203.0.113.7", codeAPIKeyInvalid, "")

	l.flush(context.Background(), clock.Truncate(time.Minute))
	got := map[string]map[string]string{}
	for _, e := range rows {
		got[e.Remote] = e.Details
	}
	if len(rows) != 2 || got["203.0.113.7"]["count"] != "4" || got["203.0.113.7"][codeAPIKeyInvalid] != "3" ||
		got["203.0.113.7"][codeRateLimited] != "1" || got["203.0.113.7"]["key_prefixes"] != "sk_test_abcd…" ||
		got["198.51.100.1"]["count"] != "1" || got["203.0.113.7"]["minute"] != "2026-11-30T10:00:00Z" {
		t.Fatalf("the first minute's rows: %v", got)
	}
	rows = nil
	l.flush(context.Background(), farFuture)
	if len(rows) != 1 || rows[0].Details["count"] != "1" || rows[0].Details["minute"] != "2026-11-30T10:01:00Z" {
		t.Fatalf("the second minute's rows: %+v", rows)
	}

	rows = nil
	for i := range maxTallies + 50 {
		l.note(fmt.Sprint("source ", i), codeAPIKeyInvalid, "")
	}
	if n := len(l.tallies); n != maxTallies+1 {
		t.Errorf("%d tallies kept for %d sources", n, maxTallies+50)
	}
	l.flush(context.Background(), farFuture)
	other := slices.IndexFunc(rows, func(e audit.Entry) bool { return e.Remote == otherSources })
	if len(rows) != maxTallies+1 || other < 0 || rows[other].Details["count"] != "50" {
		t.Errorf("%d rows for %d sources; want %d, one of them counting the 50 past the bound", len(rows), maxTallies+50, maxTallies+1)
	}
}

func TestAuthFailureTallyFlushedAtStop(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var rows []audit.Entry
	l := newAuthFailureLog(func(_ context.Context, e audit.Entry) {
		mu.Lock()
		defer mu.Unlock()
		rows = append(rows, e)
	})
	stop := l.start(context.Background())
	l.note("203.0.113.7", codeAPIKeyInvalid, "")
	stop(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if len(rows) != 1 || rows[0].Details["count"] != "1" {
		t.Fatalf("rows written at stop: %+v", rows)
	}
}

// A key link's token is a credential too: forged tokens from one address spend its budget,
// are refused 429 past it without a Postgres lookup, and are tallied, not audited one by one.
func TestForgedKeyLinkTokensSpendTheBudget(t *testing.T) {
	t.Parallel()
	f := newFixture(t).withFailureBudget(5)
	f.behindProxy()
	source := randomSource()
	statuses := map[int]int{}
	before := f.srv.pool.Stat().AcquireCount()
	for i := range 30 {
		r := f.do(t, "POST", "/v1/key_reveals", "", "", fmt.Sprintf(`{"token":"klt_forged%08d"}`, i), "X-Forwarded-For", source)
		statuses[r.status]++
	}
	lookups := f.srv.pool.Stat().AcquireCount() - before
	if statuses[404] != 5 || statuses[429] != 25 || lookups > 6 {
		t.Errorf("30 forged key-link tokens with a budget of 5: %v, %d Postgres connections", statuses, lookups)
	}
	if failures := f.authFailures(t); failures["rows"] != 1 || failures[codeKeyLinkInvalid]+failures[codeRateLimited] != 30 {
		t.Errorf("the forged tokens are audited as %v; want one row counting all 30", failures)
	}
}
