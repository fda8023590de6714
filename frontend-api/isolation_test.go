package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/schemas"
)

// The rate limit isolates merchants: one flooding the API at ten times its limit raises the
// others' p99 by no more than 20 %. Measured, not asserted on wall-clock time: the figure is
// a ratio of two p99s taken in the same run. It needs the machine to itself, so `make test`
// runs it in a step of its own (DURAPAY_ISOLATION=1).
//
// A p99 on a shared 2-core VM is noisy, so the measurement is built to be steady: several
// quiet merchants pool their samples (about 3,200 per condition, so a p99 rests on 32 slow
// requests, not 3), and the conditions alternate every two seconds so that drift on the
// machine hits all of them alike.
func TestRateLimitIsolation(t *testing.T) {
	if os.Getenv("DURAPAY_ISOLATION") != "1" {
		t.Skip("needs the machine to itself: run by make test's isolation step (DURAPAY_ISOLATION=1)")
	}
	f := newFixture(t)
	const (
		limit   = 50 // reads per second per key
		quiet   = 8  // merchants sending at half their limit, whose latency is measured
		workers = 10 // the flooder's senders, each at its limit: ten times the limit
		phase   = 2 * time.Second
		cycles  = 8
	)
	f.srv.cfg.RateLimitReads = limit
	f = f.restart(t)
	ctx := context.Background()
	newMerchant := func(name string) (id, key string) {
		id = merchants.NewID()
		if err := merchants.Create(ctx, f.srv.pool, merchants.Merchant{ID: id, Name: name}); err != nil {
			t.Fatal(err)
		}
		key, _, err := merchants.IssueSecretKey(ctx, f.srv.pool, id, merchants.ModeTest)
		if err != nil {
			t.Fatal(err)
		}
		return id, key
	}
	// Clients keep their connections, as a merchant's server would: the default client keeps
	// two idle ones per host, and dialling a new one for most requests measures the dial.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers + quiet}}
	defer client.CloseIdleConnections()
	get := func(key, id string) (time.Duration, int) {
		req, _ := http.NewRequest("GET", f.http.URL+"/v1/payments/"+id, nil)
		req.SetBasicAuth(key, "")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0, 0
		}
		// Read to the end, or the connection cannot be reused.
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), resp.StatusCode
	}

	// The flooder's load follows mode: nothing, one sender (its whole limit), or all of them.
	const (
		idle = iota
		atLimit
		flooding
		warmup // nothing measured: connections and the key cache warm up
	)
	var mode atomic.Int32
	mode.Store(warmup)
	var limited atomic.Int64
	var load pacer

	flooder, floodKey := newMerchant("Flooder")
	floodID := schemas.PaymentID(flooder, "flood")
	for w := range workers {
		// Spread over time, as requests from many connections would be.
		load.every(time.Duration(w)*time.Second/limit/workers, time.Second/limit, func() {
			if m := mode.Load(); m == idle || (m != flooding && w > 0) {
				return
			}
			if _, status := get(floodKey, floodID); status == http.StatusTooManyRequests {
				limited.Add(1)
			}
		})
	}

	// Each quiet merchant reads at half its limit and files each latency under the mode it
	// ran in; a request that straddles a change of mode is left out.
	samples := make([][3][]time.Duration, quiet)
	for q := range quiet {
		id, key := f.merchant, f.key
		if q > 0 {
			id, key = newMerchant(fmt.Sprintf("Quiet %d", q))
		}
		payment := schemas.PaymentID(id, "quiet")
		load.every(time.Duration(q)*2*time.Second/limit/quiet, 2*time.Second/limit, func() {
			before := mode.Load()
			lat, status := get(key, payment)
			if status != http.StatusNotFound {
				t.Errorf("a quiet merchant got %d", status)
			} else if before != warmup && mode.Load() == before {
				samples[q][before] = append(samples[q][before], lat)
			}
		})
	}

	time.Sleep(time.Second)
	for range cycles {
		for _, m := range []int32{idle, atLimit, flooding} {
			mode.Store(m)
			time.Sleep(phase)
		}
	}
	load.halt()
	if limited.Load() == 0 {
		t.Fatal("the flood was never limited")
	}

	p99 := func(m int) (time.Duration, int) {
		var all []time.Duration
		for q := range samples {
			all = append(all, samples[q][m]...)
		}
		return percentile99(all), len(all)
	}
	pi, n := p99(idle)
	pl, _ := p99(atLimit)
	pf, _ := p99(flooding)
	report := fmt.Sprintf("rate-limit isolation: other merchants' p99 is %v with the flooder idle, %v with it at its limit, %v with it at 10x its limit: flood/idle %.2f, flood/at-limit %.2f (about %d samples each)",
		pi, pl, pf, float64(pf)/float64(pi), float64(pf)/float64(pl), n)
	t.Log(report)
	fmt.Println(report)
	if ratio := float64(pf) / float64(pi); ratio > 1.2 {
		t.Errorf("a flood raised the other merchants' p99 by %.0f %%, more than 20 %%", (ratio-1)*100)
	}
}

// pacer runs load: functions called at a steady pace until halt.
type pacer struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

// every calls do each period, from offset on, until halt.
func (p *pacer) every(offset, period time.Duration, do func()) {
	if p.stop == nil {
		p.stop = make(chan struct{})
	}
	p.wg.Go(func() {
		time.Sleep(offset)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				do()
			}
		}
	})
}

func (p *pacer) halt() {
	close(p.stop)
	p.wg.Wait()
}

func percentile99(samples []time.Duration) time.Duration {
	slices.Sort(samples)
	return samples[len(samples)*99/100]
}

// A flood of bad keys from one address does not slow the payments of a good merchant
// elsewhere: its create p99 rises by no more than 20 % while the address sends bad keys at
// 100 a second (some 2,400 over the run, each of which used to cost a Postgres lookup and
// an audit row under the chain's lock). The flood's rate is what the issue asks for over the
// run (2,000); a faster one measures mostly this process's own client, which shares the two
// cores with the server it floods. Measured as TestRateLimitIsolation measures: the
// two conditions alternate every two seconds in the same run, connections are kept, and
// about 4,800 samples make each p99 (48 requests slower than it).
func TestAuthFailureIsolation(t *testing.T) {
	if os.Getenv("DURAPAY_ISOLATION") != "1" {
		t.Skip("needs the machine to itself: run by make test's isolation step (DURAPAY_ISOLATION=1)")
	}
	f := newFixture(t).withFailureBudget(20)
	f.behindProxy()
	const (
		senders = 8 // the good merchant's, each creating a payment every 40 ms
		floods  = 4 // the flood's, each sending a bad key every 40 ms
		period  = 40 * time.Millisecond
		phase   = 2 * time.Second
		cycles  = 12
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders + floods}}
	defer client.CloseIdleConnections()
	send := func(req *http.Request) (time.Duration, int) {
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0, 0
		}
		_, _ = io.Copy(io.Discard, resp.Body) // to the end, or the connection cannot be reused
		resp.Body.Close()
		return time.Since(start), resp.StatusCode
	}

	const (
		quiet = iota
		flooding
		warmup // nothing measured: connections, the key cache and the penalty box warm up
	)
	var mode atomic.Int32
	mode.Store(warmup)
	var load pacer
	var sent, refused, answered atomic.Int64
	floodSource := randomSource()
	for w := range floods {
		load.every(time.Duration(w)*period/floods, period, func() {
			if mode.Load() == quiet {
				return
			}
			req, _ := http.NewRequest("GET", f.http.URL+"/v1/payments/pay_flood", nil)
			req.SetBasicAuth(fmt.Sprintf("sk_test_flood%04d%08d", w, sent.Add(1)), "")
			req.Header.Set("X-Forwarded-For", floodSource)
			switch _, status := send(req); status {
			case http.StatusTooManyRequests:
				refused.Add(1)
			case http.StatusUnauthorized:
				answered.Add(1)
			default:
				t.Errorf("a bad key got %d", status)
			}
		})
	}
	samples := make([][2][]time.Duration, senders)
	var created atomic.Int64
	for q := range senders {
		load.every(time.Duration(q)*period/senders, period, func() {
			req, _ := http.NewRequest("POST", f.http.URL+"/v1/payments", strings.NewReader(visa))
			req.SetBasicAuth(f.key, "")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprint("isolation-", created.Add(1)))
			before := mode.Load()
			lat, status := send(req)
			if status != http.StatusCreated {
				t.Errorf("a good merchant's create got %d", status)
			} else if before != warmup && mode.Load() == before {
				samples[q][before] = append(samples[q][before], lat)
			}
		})
	}

	time.Sleep(time.Second)
	for range cycles {
		for _, m := range []int32{quiet, flooding} {
			mode.Store(m)
			time.Sleep(phase)
		}
	}
	load.halt()
	if refused.Load() == 0 {
		t.Fatal("the flood was never refused")
	}
	p99 := func(m int) (time.Duration, int) {
		var all []time.Duration
		for q := range samples {
			all = append(all, samples[q][m]...)
		}
		return percentile99(all), len(all)
	}
	pq, n := p99(quiet)
	pf, _ := p99(flooding)
	report := fmt.Sprintf("auth-failure isolation: a good merchant's create p99 is %v with no flood, %v while one address floods bad keys: flood/quiet %.2f (about %d samples each; %d bad keys, %d refused 429, %d answered 401)",
		pq, pf, float64(pf)/float64(pq), n, sent.Load(), refused.Load(), answered.Load())
	t.Log(report)
	fmt.Println(report)
	if ratio := float64(pf) / float64(pq); ratio > 1.2 {
		t.Errorf("a flood of bad keys raised a good merchant's create p99 by %.0f %%, more than 20 %%", (ratio-1)*100)
	}
}
