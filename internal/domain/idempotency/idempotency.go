// Package idempotency stores the saved answers of idempotent API requests (table
// idempotency_records). An action on an existing object claims its key (status 0) before it
// acts, and saves its answer after, for the retries of the same request to be answered with
// it; a create saves only its workflow's refusal (its resource is otherwise its answer).
package idempotency

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/pg"
)

// Claim claims the key for a request. A fresh key is claimed; so is a claim of the same
// request (route and hash) older than lifetime, whose claimant is gone: no request lives
// longer (takenOver). claimed is false when the key is another request's or answered:
// Read says which.
func Claim(ctx context.Context, q pg.Querier, principal, key, route, requestHash string, lifetime time.Duration) (claimed, takenOver bool, err error) {
	err = q.QueryRow(ctx, `
		INSERT INTO idempotency_records AS ir (principal, key, route, request_hash) VALUES ($1, $2, $3, $4)
		ON CONFLICT (principal, key) DO UPDATE SET claimed_at = now()
		WHERE ir.status = 0 AND ir.route = EXCLUDED.route AND ir.request_hash = EXCLUDED.request_hash
		  AND ir.claimed_at < now() - make_interval(secs => $5)
		RETURNING (xmax <> 0)`, principal, key, route, requestHash, lifetime.Seconds()).Scan(&takenOver)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	return true, takenOver, nil
}

// Record is a key's record as a retry finds it.
type Record struct {
	Route       string
	RequestHash string
	// Status is the saved answer's HTTP status; 0 while the request still runs.
	Status   int
	Response []byte
	// ClaimAge is how long ago the current claimant took the key.
	ClaimAge time.Duration
}

// Read returns the key's record, or pg.ErrNotFound (released meanwhile by a request that
// failed).
func Read(ctx context.Context, q pg.Querier, principal, key string) (Record, error) {
	var r Record
	var age float64
	err := q.QueryRow(ctx, `SELECT route, request_hash, status, response, extract(epoch FROM now() - claimed_at)::float8
		FROM idempotency_records WHERE principal = $1 AND key = $2`, principal, key).
		Scan(&r.Route, &r.RequestHash, &r.Status, &r.Response, &age)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, pg.ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("read idempotency record: %w", err)
	}
	r.ClaimAge = time.Duration(age * float64(time.Second))
	return r, nil
}

// Finish saves the answer of a claimed key.
func Finish(ctx context.Context, q pg.Querier, principal, key string, status int, response []byte) error {
	if _, err := q.Exec(ctx, `UPDATE idempotency_records SET status = $3, response = $4 WHERE principal = $1 AND key = $2`,
		principal, key, status, response); err != nil {
		return fmt.Errorf("save an idempotent answer: %w", err)
	}
	return nil
}

// Release gives a claimed key up: the request did nothing for sure, and its retry runs.
func Release(ctx context.Context, q pg.Querier, principal, key string) error {
	if _, err := q.Exec(ctx, `DELETE FROM idempotency_records WHERE principal = $1 AND key = $2`, principal, key); err != nil {
		return fmt.Errorf("release an idempotency key: %w", err)
	}
	return nil
}

// Prune deletes up to limit answers saved before before, and claims abandoned a day after
// their last claimant, when no request can still be answering them.
func Prune(ctx context.Context, q pg.Querier, before time.Time, limit int) (int64, error) {
	tag, err := q.Exec(ctx, `
		DELETE FROM idempotency_records WHERE (principal, key) IN (
			SELECT principal, key FROM idempotency_records
			WHERE (status <> 0 AND created_at < $1) OR (status = 0 AND claimed_at < now() - interval '1 day') LIMIT $2)`,
		before, limit)
	return tag.RowsAffected(), err
}

// Save records a finished request's answer under its key, unless the key has a record
// already (then the first stays).
func Save(ctx context.Context, q pg.Querier, principal, key, route, requestHash string, status int, response []byte) error {
	if _, err := q.Exec(ctx, `INSERT INTO idempotency_records (principal, key, route, request_hash, status, response)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal, key) DO NOTHING`,
		principal, key, route, requestHash, status, response); err != nil {
		return fmt.Errorf("save an idempotent answer: %w", err)
	}
	return nil
}
