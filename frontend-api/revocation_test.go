package main

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/schemas"
)

// Revocation wins over the cache: 50 readers with a key are in flight, their lookups having
// read Postgres and not yet written the cache (the test holds each fill until the
// revocation has answered), when the key is revoked. No request with the key may succeed
// later than a second after the revocation answered, though the fills land after it.
func TestRevocationWinsOverConcurrentCacheFills(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	plain, key, err := merchants.IssueRestrictedKey(ctx, f.srv.pool, f.merchant, "reader", merchants.ModeTest, []string{merchants.ScopePaymentsRead})
	if err != nil {
		t.Fatal(err)
	}
	revoked := make(chan struct{})
	var heldFills atomic.Int64
	f.srv.keys.beforeFill = func(p principal) {
		if p.KeyID == key.ID {
			heldFills.Add(1)
			<-revoked
		}
	}
	const readers = 50
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: readers}}
	defer client.CloseIdleConnections()
	read := func() int {
		req, _ := http.NewRequest("GET", f.http.URL+"/v1/payments/"+schemas.PaymentID(f.merchant, "none"), nil)
		req.SetBasicAuth(plain, "")
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	var revokedAt atomic.Pointer[time.Time]
	var late atomic.Int64
	var lastLate atomic.Pointer[time.Time]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ok := read() == http.StatusNotFound // let through: nothing there
				now := time.Now()
				if at := revokedAt.Load(); ok && at != nil && now.After(at.Add(time.Second)) {
					late.Add(1)
					lastLate.Store(&now)
				}
				time.Sleep(100 * time.Millisecond) // 500 reads a second: under the key's rate limit
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); heldFills.Load() < readers && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // until every reader's first lookup waits to fill the cache
	}
	if r := f.do(t, "POST", "/v1/api_keys/"+key.ID+"/revoke", f.key, "", ""); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	now := time.Now()
	revokedAt.Store(&now)
	close(revoked)
	time.Sleep(2500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := heldFills.Load(); n < readers {
		t.Fatalf("%d fills in flight at the revocation, want %d: the race was not run", n, readers)
	}
	if n := late.Load(); n > 0 {
		t.Fatalf("%d reads with the revoked key succeeded more than 1 s after the revocation, the last %v after it",
			n, lastLate.Load().Sub(now).Round(time.Millisecond))
	}
}
