package main

import (
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
//   - the first request runs do, and its answer is saved: success or a 4xx refusal;
//   - a retry with the same request gets the saved answer with Idempotent-Replayed: true;
//   - the same key with another request is 422 idempotency_key_reused;
//   - a retry while the first still runs is 409 idempotency_key_in_use.
//
// A 5xx or 429 answer is not saved: it says nothing happened for sure, so the retry runs
// again (and the workflow's own guards make that safe). Without a key, do simply runs.
func (s *server) idempotently(w http.ResponseWriter, r *http.Request, requestHash string, do func() (int, any, error)) error {
	ctx := r.Context()
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		status, body, err := do()
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
	claimed, err := s.pool.Exec(ctx, `
		INSERT INTO idempotency_records (principal, key, route, request_hash) VALUES ($1, $2, $3, $4)
		ON CONFLICT (principal, key) DO NOTHING`, who, key, route, requestHash)
	if err != nil {
		return fmt.Errorf("claim idempotency key: %w", err)
	}
	if claimed.RowsAffected() == 0 {
		return s.replayRecorded(w, r, who, key, route, requestHash)
	}

	status, body, err := do()
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

func (s *server) replayRecorded(w http.ResponseWriter, r *http.Request, who, key, route, requestHash string) error {
	var (
		savedRoute, savedHash string
		status                int
		response              []byte
	)
	err := s.pool.QueryRow(r.Context(), `SELECT route, request_hash, status, response FROM idempotency_records WHERE principal = $1 AND key = $2`,
		who, key).Scan(&savedRoute, &savedHash, &status, &response)
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
		return &apiError{code: codeIdempotencyKeyInUse, retryAfter: time.Second,
			message: "Another request with this Idempotency-Key is still being processed. Retry it later."}
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(response, '\n'))
	return nil
}
