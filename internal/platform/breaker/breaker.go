// Package breaker protects a dependency (Stripe) with a circuit breaker, sony/gobreaker,
// and shares its open state through Redis.
//
// Each worker process keeps its own breaker, counting the outcomes of its own calls: no
// shared lock on the hot path. When one opens, it writes the Redis key the API reads, so that
// frontend-api turns new work away (503 with Retry-After) while work in flight waits for the
// breaker to close instead of failing half-way.
package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
	"github.com/sony/gobreaker/v2"
)

// Stripe names the breaker that protects Stripe, in workers and frontend-api alike.
const Stripe = "stripe"

// Settings are the breaker's thresholds.
type Settings struct {
	// Name names the dependency ("stripe"); it keys the shared state and the metric.
	Name string
	// FailureRatio of the calls in Interval that opens the breaker, once MinRequests calls
	// were made.
	FailureRatio float64
	MinRequests  uint32
	// OpenTimeout is how long the breaker stays open before it lets a trial call through.
	OpenTimeout time.Duration
	// Interval is the rolling window over which calls are counted while closed.
	Interval time.Duration
}

// OpenError is returned instead of calling the dependency while the breaker is open.
type OpenError struct {
	Name string
	// RetryAfter is how long until the breaker lets calls through again.
	RetryAfter time.Duration
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("%s circuit breaker is open; retry in %s", e.Name, e.RetryAfter.Round(time.Millisecond))
}

// Breaker is one process's breaker for one dependency.
type Breaker struct {
	cb       *gobreaker.CircuitBreaker[struct{}]
	settings Settings
	shared   *redis.Client // nil: the state is not shared
	log      *logrus.Entry

	mu       sync.Mutex
	openedAt time.Time
}

var stateGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "durapay_circuit_breaker_state",
	Help: "Circuit breaker state by dependency: 0 closed, 1 half-open, 2 open.",
}, []string{"name"})

func init() { prometheus.MustRegister(stateGauge) }

// New builds a breaker. isOutage says which errors count as the dependency failing; other
// errors (a declined card, say) are answers, and count as successes.
func New(s Settings, shared *redis.Client, log *logrus.Entry, isOutage func(error) bool) *Breaker {
	b := &Breaker{settings: s, shared: shared, log: log}
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:     s.Name,
		Interval: s.Interval,
		Timeout:  s.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.Requests >= s.MinRequests && float64(c.TotalFailures) >= s.FailureRatio*float64(c.Requests)
		},
		IsSuccessful:  func(err error) bool { return err == nil || !isOutage(err) },
		IsExcluded:    func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: b.onStateChange,
	})
	stateGauge.WithLabelValues(s.Name).Set(0)
	return b
}

// Do calls fn unless the breaker is open, and returns fn's error or an *OpenError.
func (b *Breaker) Do(fn func() error) error {
	_, err := b.cb.Execute(func() (struct{}, error) { return struct{}{}, fn() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return &OpenError{Name: b.settings.Name, RetryAfter: b.retryAfter()}
	}
	return err
}

// retryAfter is the rest of the open period; during the half-open trial, a short pause.
func (b *Breaker) retryAfter() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if left := time.Until(b.openedAt.Add(b.settings.OpenTimeout)); left > 0 {
		return left
	}
	return time.Second
}

// onStateChange runs under gobreaker's lock: the Redis write happens in the background.
func (b *Breaker) onStateChange(name string, from, to gobreaker.State) {
	stateGauge.WithLabelValues(name).Set(float64(to))
	b.log.WithFields(logrus.Fields{"breaker": name, "from": from.String(), "to": to.String()}).Warn("circuit breaker state changed")
	if to == gobreaker.StateOpen {
		b.mu.Lock()
		b.openedAt = time.Now()
		b.mu.Unlock()
	}
	if b.shared == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var err error
		switch to {
		case gobreaker.StateOpen:
			// Twice the open period: new work stays away through the half-open trial too, and
			// the key still expires should this process die before the breaker closes.
			err = b.shared.Set(ctx, sharedKey(name), "open", 2*b.settings.OpenTimeout).Err()
		case gobreaker.StateClosed:
			err = b.shared.Del(ctx, sharedKey(name)).Err()
		}
		if err != nil {
			b.log.WithError(err).WithField("breaker", name).Warn("could not share the circuit breaker's state")
		}
	}()
}

func sharedKey(name string) string { return "durapay:breaker:" + name }

// OpenFor reads the shared state: how long until the named breaker lets calls through, or 0
// when no worker reports it open.
func OpenFor(ctx context.Context, rdb *redis.Client, name string) (time.Duration, error) {
	ttl, err := rdb.PTTL(ctx, sharedKey(name)).Result()
	if err != nil {
		return 0, fmt.Errorf("read %s breaker state: %w", name, err)
	}
	if ttl < 0 { // -2: no key, -1: no expiry (never written so)
		return 0, nil
	}
	return ttl, nil
}
