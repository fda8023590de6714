package main

import (
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
	class, limit := "write", redis_rate.PerSecond(s.cfg.RateLimitWrites)
	if rt.method == http.MethodGet {
		class, limit = "read", redis_rate.PerSecond(s.cfg.RateLimitReads)
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
			s.metrics.rateLimited.WithLabelValues(class).Inc()
			writeError(w, r, &apiError{code: codeRateLimited, retryAfter: max(res.RetryAfter, time.Second),
				message: fmt.Sprintf("Too many %s requests: the limit is %d per second for this API key.", class, limit.Rate)})
			return
		}
		next.ServeHTTP(w, r)
	})
}
