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
	"github.com/hashicorp/golang-lru/v2/expirable"
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
				writeError(w, r, unavailable("Requests that move money are paused while the rate limiter is unavailable. Retry shortly.", err))
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
			p := penalty{until: time.Now().Add(res.RetryAfter), class: class, limit: limit.Rate,
				message: fmt.Sprintf("Too many %s requests: the limit is %d per second for this API key.", class, limit.Rate)}
			s.penalties.hold(penaltyKeyOf(credential(r), class), p)
			s.refuse(w, requestIDFrom(r.Context()), p)
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
		return unavailable("Redelivery is temporarily unavailable. Retry shortly.", fmt.Errorf("redelivery limit of %s: %w", endpointID, err))
	}
	if res.Allowed == 0 {
		return &apiError{code: codeRateLimited, retryAfter: max(res.RetryAfter, time.Second),
			message: fmt.Sprintf("Too many redeliveries to this webhook endpoint: the limit is %d per minute.", redeliveriesPerEndpoint.Rate)}
	}
	return nil
}

// penalty is a caller over a limit: refused here until it may try again.
type penalty struct {
	until time.Time
	// class names the limit (read, write, auth) in the metrics; limit is its RateLimit-Limit.
	class   string
	limit   int
	message string
}

// penaltyBox turns away a caller that is over a limit before anything else runs: no
// routing, no authentication, no Redis, no access log (the refusal that put it here was
// logged; the rest of the flood is counted in durapay_http_rate_limited_total). A caller is
// a source address over its budget of failed authentications (whatever it presents), or a
// credential over its rate limit. A flood then costs this replica as little as a request
// can, so that it does not slow the other merchants down. The limiters in Redis stay the
// truth; this only remembers their last refusal until the time it named.
func (s *server) penaltyBox(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, held := s.sourcePenalty(r)
		if c := credential(r); !held && c != "" {
			p, held = s.penalties.holding(penaltyKeyOf(c, methodClass(r.Method)))
		}
		if held {
			id := requestID(r)
			w.Header().Set("Request-Id", id)
			s.refuse(w, id, p)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sourcePenalty is the penalty of r's source, if it is over its failure budget. Each
// request it turns away is tallied as a failure: the audit log counts the whole flood.
func (s *server) sourcePenalty(r *http.Request) (penalty, bool) {
	src := s.source(r)
	p, held := s.penalties.holding(penaltyKeyOf(src, classAuth))
	if held {
		s.authFailures.note(src, codeRateLimited, "")
	}
	return p, held
}

// penaltyKey names a caller (a credential or a source address, hashed: a credential itself
// is not kept in memory) and a class.
type penaltyKey struct {
	class string
	sum   [16]byte
}

func penaltyKeyOf(caller, class string) penaltyKey {
	k := penaltyKey{class: class}
	h := sha256.Sum256([]byte(caller))
	copy(k.sum[:], h[:])
	return k
}

// maxPenalties bounds the penalty box (some 200 bytes an entry).
const maxPenalties = 100_000

// longestPenalty is the longest time a refusal names: GCRA refuses for at most one emission
// interval, at most a second for the limits per second, and a minute over the failure budget.
func (c apiConfig) longestPenalty() time.Duration {
	return max(time.Second, time.Minute/time.Duration(max(c.AuthFailuresPerMinute, 1)))
}

// penalties remembers who is over a limit until the limit's retry time. It is bounded: an
// entry is dropped once its penalty ends (looked up after, or swept at the latest ttl after
// it was set), and past size the least recently used go first, so that a flood of distinct
// credentials cannot grow it. Losing an entry early costs only a trip to the limiter in
// Redis, which stays the truth.
type penalties struct {
	lru *expirable.LRU[penaltyKey, penalty]
}

// newPenalties makes a box of size entries; ttl is the longest penalty it is told of.
func newPenalties(size int, ttl time.Duration) *penalties {
	return &penalties{lru: expirable.NewLRU[penaltyKey, penalty](size, nil, ttl)}
}

func (p *penalties) hold(k penaltyKey, v penalty) { p.lru.Add(k, v) }

// holding returns k's penalty while it lasts.
func (p *penalties) holding(k penaltyKey) (penalty, bool) {
	v, ok := p.lru.Get(k)
	if ok && time.Now().Before(v.until) {
		return v, true
	}
	if ok {
		p.lru.Remove(k)
	}
	return penalty{}, false
}

func (p *penalties) len() int { return p.lru.Len() }

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
func (s *server) refuse(w http.ResponseWriter, requestID string, p penalty) {
	s.metrics.rateLimited.WithLabelValues(p.class).Inc()
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(p.limit))
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(max(time.Until(p.until), time.Second).Seconds()))))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintf(w, `{"error":{"type":"rate_limit_error","code":%q,"message":%q,"request_id":%q}}`+"\n",
		codeRateLimited, p.message, requestID)
}
