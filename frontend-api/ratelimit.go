package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-redis/redis_rate/v10"
)

// rateLimit applies the per-key limit of the route's class (GCRA in Redis, shared by every
// replica): reads and writes have separate budgets, so a flood of reads cannot block a
// merchant's payments. Over the limit: 429 with Retry-After; every answer carries the
// RateLimit-* headers.
//
// When Redis does not answer, routes that move money fail closed (503): nobody can exceed
// the limit while it is blind. Reads fail open: they move nothing, and refusing them would
// turn a cache outage into an API outage.
func (s *server) rateLimit(rt route, next http.Handler) http.Handler {
	class, limit := routeClass(rt), redis_rate.PerSecond(s.cfg.RateLimitWrites)
	if class == "read" {
		limit = redis_rate.PerSecond(s.cfg.RateLimitReads)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := "durapay:rl:" + class + ":" + principalFrom(r.Context()).KeyID
		res, err := s.limiter.Allow(r.Context(), key, limit)
		if err != nil {
			loggerFrom(r.Context()).WithError(err).WithField("class", class).Warn("rate limiter unavailable")
			s.metrics.rateLimiterErrors.WithLabelValues(class).Inc()
			if class == "write" {
				writeError(w, r, &apiError{code: codeServiceUnavailable, retryAfter: time.Second, cause: err,
					message: "Requests that move money are paused while the rate limiter is unavailable. Retry shortly."})
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("RateLimit-Limit", strconv.Itoa(limit.Rate))
		h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(res.ResetAfter.Seconds()))))
		if res.Allowed == 0 {
			s.penalties.Store(penaltyKeyOf(r.Header.Get("Authorization"), class), penalty{until: time.Now().Add(res.RetryAfter), rate: limit.Rate})
			s.refuse(w, requestIDFrom(r.Context()), class, limit.Rate, res.RetryAfter)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// redeliveriesPerEndpoint bounds redeliveries on request: each sends an event to the
// endpoint again, and neither a loop in a merchant's code nor a stolen key may turn
// Durapay into a flood aimed at whatever the endpoint is.
var redeliveriesPerEndpoint = redis_rate.PerMinute(10)

// limitRedeliveries takes one redelivery of the endpoint's allowance (GCRA in Redis, shared
// by every replica), or answers 429 with when to try again.
func (s *server) limitRedeliveries(ctx context.Context, endpointID string) error {
	res, err := s.limiter.Allow(ctx, "durapay:rl:redeliver:"+endpointID, redeliveriesPerEndpoint)
	if err != nil {
		return &apiError{code: codeServiceUnavailable, retryAfter: time.Second, cause: fmt.Errorf("redelivery limit of %s: %w", endpointID, err),
			message: "Redelivery is temporarily unavailable. Retry shortly."}
	}
	if res.Allowed == 0 {
		return &apiError{code: codeRateLimited, retryAfter: max(res.RetryAfter, time.Second),
			message: fmt.Sprintf("Too many redeliveries to this webhook endpoint: the limit is %d per minute.", redeliveriesPerEndpoint.Rate)}
	}
	return nil
}

// penalty is a credential over its limit: refused here until it may try again.
type penalty struct {
	until time.Time
	rate  int
}

// penaltyBox turns away a credential that is over its limit before anything else runs: no
// routing, no authentication, no Redis, no access log (the refusal that put it here was
// logged; the rest of the flood is counted in durapay_http_rate_limited_total). A flood
// then costs this replica as little as a request can, so that it does not slow the other
// merchants down. The limiter in Redis stays the truth; this only remembers its last
// refusal until the time it named.
func (s *server) penaltyBox(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); auth != "" {
			class := methodClass(r.Method)
			if p, ok := s.penalties.Load(penaltyKeyOf(auth, class)); ok {
				if p := p.(penalty); time.Now().Before(p.until) {
					id := requestID(r)
					w.Header().Set("Request-Id", id)
					s.refuse(w, id, class, p.rate, time.Until(p.until))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// penaltyKey names a credential (whatever the Authorization header holds, hashed: the
// credential itself is not kept in memory) and a class.
type penaltyKey struct {
	class string
	sum   [16]byte
}

func penaltyKeyOf(authorization, class string) penaltyKey {
	k := penaltyKey{class: class}
	h := sha256.Sum256([]byte(authorization))
	copy(k.sum[:], h[:])
	return k
}

func routeClass(rt route) string { return methodClass(rt.method) }

// methodClass is a request's rate-limit class: reads and writes have separate budgets.
func methodClass(method string) string {
	if method == http.MethodGet {
		return "read"
	}
	return "write"
}

// refuse answers 429. It is the hot path of a flood, so it writes a fixed body rather than
// going through the error table and its log line.
func (s *server) refuse(w http.ResponseWriter, requestID, class string, rate int, retryAfter time.Duration) {
	s.metrics.rateLimited.WithLabelValues(class).Inc()
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(rate))
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(max(retryAfter, time.Second).Seconds()))))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintf(w, `{"error":{"type":"rate_limit_error","code":%q,"message":"Too many %s requests: the limit is %d per second for this API key.","request_id":%q}}`+"\n",
		codeRateLimited, class, rate, requestID)
}
