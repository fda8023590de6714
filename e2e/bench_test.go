package e2e

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestCreateLatency measures the synchronous part of a create (API, Update-With-Start,
// Stripe sandbox, Postgres, answer) as a merchant sees it: N sequential creates on an idle
// stack. It reports; it asserts no time. Run by `make bench` (DURAPAY_BENCH=1).
func TestCreateLatency(t *testing.T) {
	if os.Getenv("DURAPAY_BENCH") != "1" {
		t.Skip("a measurement, not a test: run `make bench`")
	}
	e := requireEnv(t)
	n, _ := strconv.Atoi(os.Getenv("DURAPAY_BENCH_N"))
	if n <= 0 {
		n = 100
	}
	for i := 0; i < 5; i++ { // warm connections and caches
		e.call(t, &e.a, "POST", "/v1/payments", fmt.Sprintf("warm-%d-%d", time.Now().UnixNano(), i), visa(1000))
	}
	durations := make([]time.Duration, n)
	run := time.Now().UnixNano()
	for i := range durations {
		start := time.Now()
		r := e.call(t, &e.a, "POST", "/v1/payments", fmt.Sprintf("bench-%d-%d", run, i), visa(1000))
		durations[i] = time.Since(start)
		if r.Status != http.StatusCreated {
			t.Fatalf("create %d: %d %s", i, r.Status, r.Raw)
		}
	}
	slices.Sort(durations)
	pct := func(p float64) time.Duration { return durations[int(p*float64(n-1))] }
	report := fmt.Sprintf("sequential creates on an idle stack: n=%d p50=%v p90=%v p99=%v max=%v (GOOS=%s GOARCH=%s CPUs=%d)",
		n, pct(.50).Round(100*time.Microsecond), pct(.90).Round(100*time.Microsecond), pct(.99).Round(100*time.Microsecond),
		durations[n-1].Round(100*time.Microsecond), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	t.Log(report)
	fmt.Println(report)
}
