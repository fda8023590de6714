// Package audittest plays the database owner against the audit log, for tests that prove
// the chain gives such tampering away.
package audittest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/platform/keyring"
)

// Forgery rewrites row Seq's details, and recomputes the hashes from that row to the
// chain's end so that every row links to the one before: as HMACs under the primary of
// Keys when the forger holds the audit keys, otherwise with plain SHA-256 (the formula is
// in the source), keeping each row's key ID unless Unkeyed clears it, as a row chained
// before there was a key has none.
type Forgery struct {
	Seq     int64
	Details string
	Keys    *keyring.Keyring
	Unkeyed bool
}

// Rewrite does what anyone who owns the database can: switch the append-only guard off and
// commit f. Appends wait until restore puts the rows back as they were (it must be
// called), so that none links to a forged hash.
func Rewrite(ctx context.Context, pool *pgxpool.Pool, f Forgery) (restore func(context.Context) error, err error) {
	return tamper(ctx, pool, f.Seq, func(tx pgx.Tx) error { return forge(ctx, tx, f) })
}

// Truncate removes the rows after row after, as the database's owner can. Appends wait
// until restore puts them back (it must be called).
func Truncate(ctx context.Context, pool *pgxpool.Pool, after int64) (restore func(context.Context) error, err error) {
	return tamper(ctx, pool, after+1, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE seq > $1`, after)
		return err
	})
}

// tamper runs fn with the guard off on the rows from row from on, holding the chain's lock
// until restore writes those rows back as they were.
func tamper(ctx context.Context, pool *pgxpool.Pool, from int64, fn func(pgx.Tx) error) (restore func(context.Context) error, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("tamper with audit rows from %d: %w", from, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, audit.ChainLock); err != nil {
		conn.Release()
		return nil, fmt.Errorf("tamper with audit rows from %d: %w", from, err)
	}
	release := func(ctx context.Context) error {
		_, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, audit.ChainLock)
		conn.Release()
		return err
	}
	original, err := audit.List(ctx, conn, from-1, 1_000_000)
	if err == nil {
		err = unguarded(ctx, conn.Conn(), fn)
	}
	if err != nil {
		_ = release(ctx)
		return nil, fmt.Errorf("tamper with audit rows from %d: %w", from, err)
	}
	return func(ctx context.Context) error {
		err := unguarded(ctx, conn.Conn(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE seq >= $1`, from); err != nil {
				return err
			}
			for _, e := range original {
				if _, err := tx.Exec(ctx, `
					INSERT INTO audit_log (seq, at, actor, action, resource, outcome, remote, details, prev_hash, hash, key_id)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
					e.Seq, e.At, e.Actor, e.Action, e.Resource, e.Outcome, e.Remote, e.Details, e.PrevHash, e.Hash, e.KeyID); err != nil {
					return err
				}
			}
			return nil
		})
		if releaseErr := release(ctx); err == nil {
			err = releaseErr
		}
		if err != nil {
			return fmt.Errorf("restore audit rows from %d: %w", from, err)
		}
		return nil
	}, nil
}

func forge(ctx context.Context, tx pgx.Tx, f Forgery) error {
	if _, err := tx.Exec(ctx, `UPDATE audit_log SET details = $2 WHERE seq = $1`, f.Seq, f.Details); err != nil {
		return err
	}
	rows, err := audit.List(ctx, tx, f.Seq-1, 1_000_000)
	if err != nil {
		return err
	}
	prev := rows[0].PrevHash
	for _, e := range rows {
		e.PrevHash = prev
		var sum []byte
		switch {
		case f.Keys != nil:
			e.KeyID = f.Keys.PrimaryID()
			if sum, err = f.Keys.MAC(e.KeyID, message(e)); err != nil {
				return err
			}
		default:
			sum = PlainHash(e)
			if f.Unkeyed {
				e.KeyID = ""
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_log SET prev_hash = $2, hash = $3, key_id = $4 WHERE seq = $1`, e.Seq, prev, sum, e.KeyID); err != nil {
			return err
		}
		prev = sum
	}
	return nil
}

// PlainHash is the hash of the chain before it was keyed, which anyone can compute: SHA-256
// over the previous hash and the row's canonical JSON.
func PlainHash(e audit.Entry) []byte {
	sum := sha256.Sum256(message(e))
	return sum[:]
}

// message is what a row's hash covers.
func message(e audit.Entry) []byte {
	content, _ := json.Marshal(struct { // plain fields: cannot fail
		Seq                                      int64
		At                                       string
		Actor, Action, Resource, Outcome, Remote string
		Details                                  map[string]string
	}{e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Resource, e.Outcome, e.Remote, e.Details})
	return append(slices.Clone(e.PrevHash), content...)
}

// unguarded runs fn in a transaction with the append-only guard off.
func unguarded(ctx context.Context, conn *pgx.Conn, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update`)
		return err
	})
}
