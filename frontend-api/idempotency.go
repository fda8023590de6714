package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/durapay/durapay/internal/domain/idempotency"
	"github.com/durapay/durapay/internal/platform/pg"
)

// fingerprint hashes the parts that make a request what it is (route, object ID, decoded
// body), so that a retry is told apart from another request under the same key.
func fingerprint(parts ...any) string {
	b, _ := json.Marshal(parts) // plain values: cannot fail
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// idempotently answers a state-changing request on an existing object (a capture, an
// operator's decision, a redelivery; creates go through createOnce) once per
// Idempotency-Key, as Stripe does:
//
//   - the first request claims the key, runs do, and saves its answer: success or a 4xx;
//   - a retry with the same request gets the saved answer with Idempotent-Replayed: true;
//   - the same key with another request is 422 idempotency_key_reused;
//   - a retry while the first still runs is 409 idempotency_key_in_use, with Retry-After.
//
// do and the record's writes run on a context detached from the client, bounded by
// s.claimLifetime(): a client that hangs up does not stop an action half-way, and its retry
// finds the answer saved. A claim older than that lifetime belongs to a request whose
// process died; the next retry of the same request takes it over and runs do again, which
// reaches the same workflow or object (their IDs derive from the key), never a second one.
//
// A 5xx or 429 answer is not saved: it says nothing happened for sure, so the retry runs
// again (and the workflow's own guards make that safe). Without a key, do simply runs.
func (s *server) idempotently(w http.ResponseWriter, r *http.Request, requestHash string, do func(*http.Request) (int, any, error)) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.claimLifetime())
	defer cancel()
	detached := r.WithContext(ctx)
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		status, body, err := do(detached)
		if err != nil {
			return err
		}
		writeJSON(w, status, body)
		return nil
	}
	if !idempotencyKeyPattern.MatchString(key) {
		return newError(codeIdempotencyKeyInvalid, "", "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.")
	}
	who, route := principalFrom(ctx).id(), r.Method+" "+routeName(r)
	claimed, takenOver, err := idempotency.Claim(ctx, s.pool, who, key, route, requestHash, s.claimLifetime())
	if err != nil {
		return err
	}
	if !claimed {
		return s.replayRecorded(w, r, who, key, route, requestHash)
	}
	if takenOver {
		loggerFrom(ctx).WithField("route", route).Warn("took over an idempotency key whose request was abandoned mid-way")
	}

	status, body, err := do(detached)
	if err != nil {
		if _, class := classify(err); class.status >= 500 || class.status == http.StatusTooManyRequests {
			if err := idempotency.Release(ctx, s.pool, who, key); err != nil {
				loggerFrom(ctx).WithError(err).Error("could not release an idempotency key")
			}
			return err
		}
		status, body, _ = renderError(r, err)
	}
	encoded, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	if err := idempotency.Finish(ctx, s.pool, who, key, status, encoded); err != nil {
		// The action happened; only its replay is lost. Answer it, and say so in the log.
		loggerFrom(ctx).WithError(err).Error("could not save an idempotent answer")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(encoded, '\n'))
	return nil
}

// claimLifetime bounds an idempotent request's action and its record's writes: the longest
// wait for a workflow's answer, plus time to save it. A claim older than this is abandoned.
func (s *server) claimLifetime() time.Duration { return s.cfg.CreateTimeout + 10*time.Second }

func (s *server) replayRecorded(w http.ResponseWriter, r *http.Request, who, key, route, requestHash string) error {
	rec, err := idempotency.Read(r.Context(), s.pool, who, key)
	if errors.Is(err, pg.ErrNotFound) { // released meanwhile by a failed first request
		return &apiError{code: codeIdempotencyKeyInUse, message: "A request with this Idempotency-Key just failed; retry it.", retryAfter: time.Second}
	}
	if err != nil {
		return err
	}
	switch {
	case rec.Route != route || rec.RequestHash != requestHash:
		return reusedKey()
	case rec.Status == 0:
		// Come back when the claim is answered, or at the latest when it may be taken over.
		return &apiError{code: codeIdempotencyKeyInUse, retryAfter: min(max(s.claimLifetime()-rec.ClaimAge, time.Second), 5*time.Second),
			message: "Another request with this Idempotency-Key is still being processed. Retry it later."}
	}
	writeSaved(w, rec)
	return nil
}
