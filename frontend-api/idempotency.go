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

	"github.com/jackc/pgx/v5"
)

// fingerprint hashes the parts that make a request what it is (route, object ID, decoded
// body), so that a retry is told apart from another request under the same key.
func fingerprint(parts ...any) string {
	b, _ := json.Marshal(parts) // plain values: cannot fail
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// idempotently answers a state-changing request (other than a payment's creation, whose
// answer is the payment row itself) once per Idempotency-Key, as Stripe does:
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
	// A fresh key is inserted; a stale claim of the same request is taken over (its
	// claimant is gone: no request lives longer than the claim lifetime). Anything else
	// leaves the row alone and is answered from it.
	rows, err := s.pool.Query(ctx, `
		INSERT INTO idempotency_records AS ir (principal, key, route, request_hash) VALUES ($1, $2, $3, $4)
		ON CONFLICT (principal, key) DO UPDATE SET claimed_at = now()
		WHERE ir.status = 0 AND ir.route = EXCLUDED.route AND ir.request_hash = EXCLUDED.request_hash
		  AND ir.claimed_at < now() - make_interval(secs => $5)
		RETURNING (xmax <> 0) AS taken_over`, who, key, route, requestHash, s.claimLifetime().Seconds())
	if err != nil {
		return fmt.Errorf("claim idempotency key: %w", err)
	}
	takenOver, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return fmt.Errorf("claim idempotency key: %w", err)
	}
	if len(takenOver) == 0 {
		return s.replayRecorded(w, r, who, key, route, requestHash)
	}
	if takenOver[0] {
		loggerFrom(ctx).WithField("route", route).Warn("took over an idempotency key whose request was abandoned mid-way")
	}

	status, body, err := do(detached)
	if err != nil {
		if _, class := classify(err); class.status >= 500 || class.status == http.StatusTooManyRequests {
			if _, delErr := s.pool.Exec(ctx, `DELETE FROM idempotency_records WHERE principal = $1 AND key = $2`, who, key); delErr != nil {
				loggerFrom(ctx).WithError(delErr).Error("could not release an idempotency key")
			}
			return err
		}
		status, body, _ = renderError(r, err)
	}
	encoded, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE idempotency_records SET status = $3, response = $4 WHERE principal = $1 AND key = $2`,
		who, key, status, encoded); err != nil {
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
	var (
		savedRoute, savedHash string
		status                int
		response              []byte
		claimAge              float64 // seconds
	)
	err := s.pool.QueryRow(r.Context(), `SELECT route, request_hash, status, response, extract(epoch FROM now() - claimed_at)::float8
		FROM idempotency_records WHERE principal = $1 AND key = $2`,
		who, key).Scan(&savedRoute, &savedHash, &status, &response, &claimAge)
	if errors.Is(err, pgx.ErrNoRows) { // released meanwhile by a failed first request
		return &apiError{code: codeIdempotencyKeyInUse, message: "A request with this Idempotency-Key just failed; retry it.", retryAfter: time.Second}
	}
	if err != nil {
		return fmt.Errorf("read idempotency record: %w", err)
	}
	switch {
	case savedRoute != route || savedHash != requestHash:
		return reusedKey()
	case status == 0:
		// Come back when the claim is answered, or at the latest when it may be taken over.
		return &apiError{code: codeIdempotencyKeyInUse, retryAfter: min(max(s.claimLifetime()-time.Duration(claimAge*float64(time.Second)), time.Second), 5*time.Second),
			message: "Another request with this Idempotency-Key is still being processed. Retry it later."}
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(response, '\n'))
	return nil
}
