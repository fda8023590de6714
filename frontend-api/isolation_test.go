package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/merchants"
	"github.com/durapay/durapay/schemas"
)

// The rate limit isolates merchants: one flooding the API at ten times its limit raises
// another's p99 by no more than 20 %, compared with the same merchant using its whole
// limit (the excess nine tenths must cost the others nothing; the tenth within the limit
// is its due). Measured, not asserted on wall-clock time: the figure is a ratio of two p99s
// taken in the same run, alternating rounds so that drift hits both. It needs the machine
// to itself, so `make test` runs it in a step of its own (DURAPAY_ISOLATION=1).
func TestRateLimitIsolation(t *testing.T) {
	if os.Getenv("DURAPAY_ISOLATION") != "1" {
		t.Skip("needs the machine to itself: run by make test's isolation step (DURAPAY_ISOLATION=1)")
	}
	f := newFixture(t)
	const limit = 50 // reads per second per key
	f.srv.cfg.RateLimitReads = limit
	f = f.restart(t)
	ctx := context.Background()
	flooder := merchants.NewID()
	if err := merchants.Create(ctx, f.srv.pool, merchants.Merchant{ID: flooder, Name: "Flooder"}); err != nil {
		t.Fatal(err)
	}
	floodKey, _, err := merchants.IssueSecretKey(ctx, f.srv.pool, flooder, merchants.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	get := func(key, id string) (time.Duration, int) {
		req, _ := http.NewRequest("GET", f.http.URL+"/v1/payments/"+id, nil)
		req.SetBasicAuth(key, "")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, 0
		}
		resp.Body.Close()
		return time.Since(start), resp.StatusCode
	}
	quietID, floodID := schemas.PaymentID(f.merchant, "quiet"), schemas.PaymentID(flooder, "flood")
	// round sends the quiet merchant's reads at half its limit for d, while the other sends
	// ten times its limit (flood) or its limit, and returns the quiet merchant's latencies.
	round := func(d time.Duration, workers int) []time.Duration {
		flood := workers > 1
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var limited int
		var mu sync.Mutex
		{
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Spread over time, as requests from many connections would be.
					time.Sleep(time.Duration(w) * time.Second / limit / 10)
					tick := time.NewTicker(time.Second / limit) // 10 workers x limit/s = 10 x the limit
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							if _, status := get(floodKey, floodID); status == http.StatusTooManyRequests {
								mu.Lock()
								limited++
								mu.Unlock()
							}
						}
					}
				}()
			}
		}
		var samples []time.Duration
		tick := time.NewTicker(2 * time.Second / limit)
		for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
			lat, status := get(f.key, quietID)
			if status != http.StatusNotFound {
				t.Fatalf("the quiet merchant got %d", status)
			}
			samples = append(samples, lat)
		}
		tick.Stop()
		close(stop)
		wg.Wait()
		if flood && limited == 0 {
			t.Fatal("the flood was never limited")
		}

		return samples
	}
	p99 := func(s []time.Duration) time.Duration {
		slices.Sort(s)
		return s[len(s)*99/100]
	}
	var idle, atLimit, flooded []time.Duration
	round(time.Second, 0) // warm the connections and the key cache
	for i := 0; i < 3; i++ {
		idle = append(idle, round(4*time.Second, 0)...)
		atLimit = append(atLimit, round(4*time.Second, 1)...)
		flooded = append(flooded, round(4*time.Second, 10)...)
	}
	pi, q, fl := p99(idle), p99(atLimit), p99(flooded)
	report := fmt.Sprintf("rate-limit isolation: a quiet merchant's p99 is %v with the other idle, %v with it at its limit, %v with it flooding at 10x its limit: flood/at-limit %.2f, flood/idle %.2f (%d samples each)",
		pi, q, fl, float64(fl)/float64(q), float64(fl)/float64(pi), len(flooded))
	t.Log(report)
	fmt.Println(report)
	// Against the other merchant idle, the strict reading of the requirement.
	if ratio := float64(fl) / float64(pi); ratio > 1.2 {
		t.Errorf("a flood raised another merchant's p99 by %.0f %%, more than 20 %%", (ratio-1)*100)
	}
}
