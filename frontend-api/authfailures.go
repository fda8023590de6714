package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/durapay/durapay/internal/domain/audit"
)

// A failed authentication (a bad or missing key or token, a bad invitation) costs its
// source address part of a budget, AUTH_FAILURES_PER_MINUTE, kept in Redis (GCRA, shared by
// every replica). A source that has spent it is refused 429 until its next failure would be
// allowed: first in the penalty box, before anything else runs, and on a replica that has
// not seen it yet, before any credential is looked up in Postgres. Its failures are tallied
// into one audit row per source and minute (authFailureLog).

// classAuth is the penalty box's and the metrics' class of sources over their budget.
const classAuth = "auth"

const authFailurePrefix = "durapay:authfail:"

// authFailure is a refused authentication, with what to answer while its source has budget
// left.
type authFailure struct {
	refusal *apiError
	// challenge is the WWW-Authenticate header sent with the refusal.
	challenge string
	// keyPrefix is a presented key's prefix, for the audit log.
	keyPrefix string
	// overBudget is set when the source was refused before its credential was looked up.
	overBudget *penalty
}

func (f *authFailure) Error() string { return f.refusal.Error() }

// refuseAuthentication answers a failed authentication once counted (countAuthFailure):
// as the failure deserves while its source has budget left, 429 once the budget is spent.
func (s *server) refuseAuthentication(w http.ResponseWriter, r *http.Request, f *authFailure) {
	if p, spent := s.countAuthFailure(r, f); spent {
		s.refuse(w, requestIDFrom(r.Context()), p)
		return
	}
	if f.challenge != "" {
		w.Header().Set("WWW-Authenticate", f.challenge)
	}
	writeError(w, r, f.refusal)
}

// failedCredential counts f as refuseAuthentication does, for a handler that answers errors
// (a credential it checks itself, as a key link's token): f's refusal while its source has
// budget left, 429 once the budget is spent.
func (s *server) failedCredential(r *http.Request, f *authFailure) error {
	p, spent := s.countAuthFailure(r, f)
	if !spent {
		return f.refusal
	}
	s.metrics.rateLimited.WithLabelValues(p.class).Inc()
	return &apiError{code: codeRateLimited, message: p.message, retryAfter: max(time.Until(p.until), time.Second)}
}

// countAuthFailure tallies f for the audit log and, unless f was refused for its source's
// budget already, spends one failure of that budget. spent says the failure did not fit,
// with the penalty the source is under.
func (s *server) countAuthFailure(r *http.Request, f *authFailure) (p penalty, spent bool) {
	src := s.source(r)
	if f.overBudget != nil {
		s.authFailures.note(src, codeRateLimited, "")
		return *f.overBudget, true
	}
	s.authFailures.note(src, f.refusal.code, f.keyPrefix)
	return s.failureBudget(r.Context(), src, 1)
}

// checkFailureBudget refuses, before a credential is looked up, a source whose budget is
// spent (on another replica, say: this one would have held it in the penalty box).
func (s *server) checkFailureBudget(r *http.Request) error {
	if p, spent := s.failureBudget(r.Context(), s.source(r), 0); spent {
		return &authFailure{refusal: newError(codeRateLimited, "", p.message), overBudget: &p}
	}
	return nil
}

// failureBudget spends n of src's failures (0: none, to look) and reports whether the
// source is over its budget: the n failures did not fit, or (n 0) no failure would. A
// source that has no failure left is held in the penalty box, and its penalty returned.
//
// When Redis does not answer, nobody is refused: the failure is still answered and
// tallied, and Postgres, which stays the truth, must stay reachable for good keys.
func (s *server) failureBudget(ctx context.Context, src string, n int) (penalty, bool) {
	limit := redis_rate.PerMinute(s.cfg.AuthFailuresPerMinute)
	res, err := s.limiter.AllowN(ctx, authFailurePrefix+src, limit, n)
	if err != nil {
		loggerFrom(ctx).WithError(err).Warn("authentication failure budget unavailable")
		s.metrics.rateLimiterErrors.WithLabelValues(classAuth).Inc()
		return penalty{}, false
	}
	if res.Remaining > 0 {
		return penalty{}, false
	}
	// Spent: the next failure is allowed once the limiter is back within one failure of
	// full, that is ResetAfter less Burst-1 intervals.
	wait := res.ResetAfter - time.Duration(limit.Burst-1)*limit.Period/time.Duration(limit.Rate)
	if wait <= 0 {
		return penalty{}, false
	}
	p := penalty{until: time.Now().Add(wait), class: classAuth, limit: limit.Rate,
		message: fmt.Sprintf("Too many failed authentications from this address: the limit is %d per minute.", limit.Rate)}
	s.penalties.hold(penaltyKeyOf(src, classAuth), p)
	// A failure that fit (Allowed 1) is answered as such, though it spent the last of the budget.
	return p, res.Allowed == 0
}

// source is the request's source address (see sourceOf).
func (s *server) source(r *http.Request) string { return s.proxies.sourceOf(r) }

// authFailureLog tallies failed authentications per source and minute, and writes one audit
// row per tally once its minute is over (and at shutdown). Why in-process: every audit row
// takes the chain's lock in Postgres, so one row per failure let a flood of bad credentials
// queue on that lock and fill the connection pool, stalling payments. A tally per replica
// bounds the rows to one per source, minute and replica, with no coordination between
// replicas. If the process dies without its last flush, at most a minute of counts is lost;
// the access log still has every request.
type authFailureLog struct {
	mu      sync.Mutex
	tallies map[tallyKey]*tally
	// write appends one row to the audit log.
	write func(context.Context, audit.Entry)
	now   func() time.Time
}

type tallyKey struct {
	minute time.Time
	source string
}

// tally is one source's failures in one minute.
type tally struct {
	first, last time.Time
	// kinds counts the failures by the error code answered (rate_limited: refused unseen).
	kinds       map[string]int
	keyPrefixes []string
}

// Bounds on the tally: past maxTallies sources in memory, failures are tallied under
// otherSources; a tally keeps a few distinct key prefixes as a sample.
const (
	maxTallies     = 10_000
	otherSources   = "(other sources)"
	maxKeyPrefixes = 5
)

func newAuthFailureLog(write func(context.Context, audit.Entry)) *authFailureLog {
	return &authFailureLog{tallies: map[tallyKey]*tally{}, write: write, now: time.Now}
}

// note tallies one failure from source; keyPrefix is the presented key's, if any.
func (l *authFailureLog) note(source, kind, keyPrefix string) {
	now := l.now()
	k := tallyKey{now.Truncate(time.Minute), source}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.tallies[k]; !ok && len(l.tallies) >= maxTallies {
		k.source = otherSources
	}
	t := l.tallies[k]
	if t == nil {
		t = &tally{first: now, kinds: map[string]int{}}
		l.tallies[k] = t
	}
	t.last = now
	t.kinds[kind]++
	if keyPrefix != "" && len(t.keyPrefixes) < maxKeyPrefixes && !slices.Contains(t.keyPrefixes, keyPrefix) {
		t.keyPrefixes = append(t.keyPrefixes, keyPrefix)
	}
}

// farFuture flushes every tally, the current minute's too.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// flush writes, and forgets, the tallies of the minutes before before. Rows are written
// one after the other, outside the lock: noting a failure never waits for Postgres.
func (l *authFailureLog) flush(ctx context.Context, before time.Time) {
	l.mu.Lock()
	var due []tallyKey
	taken := map[tallyKey]*tally{}
	for k, t := range l.tallies {
		if k.minute.Before(before) {
			due = append(due, k)
			taken[k] = t
			delete(l.tallies, k)
		}
	}
	l.mu.Unlock()
	slices.SortFunc(due, func(a, b tallyKey) int {
		return cmp.Or(a.minute.Compare(b.minute), strings.Compare(a.source, b.source))
	})
	for _, k := range due {
		l.write(ctx, taken[k].entry(k))
	}
}

// entry is the tally's audit row: how many failures, of which kinds, from when to when.
func (t *tally) entry(k tallyKey) audit.Entry {
	details := map[string]string{"minute": k.minute.UTC().Format(time.RFC3339),
		"first": t.first.UTC().Format(time.RFC3339Nano), "last": t.last.UTC().Format(time.RFC3339Nano)}
	total := 0
	for kind, n := range t.kinds {
		details[kind] = strconv.Itoa(n)
		total += n
	}
	details["count"] = strconv.Itoa(total)
	if len(t.keyPrefixes) > 0 {
		details["key_prefixes"] = strings.Join(t.keyPrefixes, " ")
	}
	return audit.Entry{At: t.last, Actor: "anonymous", Action: "auth.failure", Resource: "credentials", Outcome: audit.Refused,
		Remote: k.source, Details: details}
}

// start flushes each minute's tallies once the minute is over. The returned stop ends that,
// then flushes what is left: call it once the servers are shut down, so that no failure is
// noted after it.
func (l *authFailureLog) start(ctx context.Context) (stop func(context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			next := l.now().Truncate(time.Minute).Add(time.Minute)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(next)):
				// Not cancelled by shutdown halfway through a row: stop waits for this flush.
				l.flush(context.WithoutCancel(ctx), next)
			}
		}
	}()
	return func(final context.Context) {
		cancel()
		<-done
		l.flush(final, farFuture)
	}
}
