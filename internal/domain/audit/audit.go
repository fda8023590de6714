// Package audit writes Durapay's audit log: who did what, to what, when, from where, with
// which outcome. Rows are append-only (the database refuses updates, deletes and TRUNCATE)
// and hash-chained: each row's hash covers the previous row's hash and its own canonical
// content, so that editing or removing a row, even bypassing the database's guard, breaks
// every hash after it. The hash is an HMAC-SHA256 under a key the database never holds
// (AUDIT_KEYS), so that its owner cannot recompute the chain after a rewrite; anchors of
// the chain's head, kept in S3 under object lock (anchor.go), pin the rows before them even
// against whoever holds the key. A Verifier finds the first row that does not fit.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/pg"
)

// Outcomes.
const (
	Success = "success"
	Refused = "refused"
	Failure = "failure"
)

// Entry is one audited action.
type Entry struct {
	Seq      int64             `json:"seq"`
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	Resource string            `json:"resource"`
	Outcome  string            `json:"outcome"`
	Remote   string            `json:"remote"`
	Details  map[string]string `json:"details"`
	PrevHash []byte            `json:"prev_hash"`
	Hash     []byte            `json:"hash"`
	// KeyID names the audit key of Hash, an HMAC-SHA256; empty on the rows chained with plain
	// SHA-256 before the chain was keyed.
	KeyID string `json:"key_id"`
}

// ChainLock is the advisory lock that serializes appends: each row needs the hash of the
// one before it. Tests that tamper with the chain hold it, so that no append links to a
// row they are about to mend.
const ChainLock = 7_240_312

// Log appends to the audit log, keying each row's hash with the audit keys' primary.
type Log struct {
	pool *pgxpool.Pool
	keys *keyring.Keyring
}

// NewLog returns the log of the database behind pool, keyed with keys (AUDIT_KEYS).
func NewLog(pool *pgxpool.Pool, keys *keyring.Keyring) *Log { return &Log{pool: pool, keys: keys} }

// Append writes e at the end of the chain and returns it with its sequence and hashes.
// Every field is capped first (see capped): the row is what was written and hashed.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond) // what Postgres keeps
	e = capped(e)
	e.KeyID = l.keys.PrimaryID()
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, ChainLock); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&e.Seq, &e.PrevHash)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			e.Seq, e.PrevHash = 0, make([]byte, sha256.Size)
		case err != nil:
			return err
		}
		e.Seq++
		if e.Hash, err = link(l.keys, e); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO audit_log (seq, at, actor, action, resource, outcome, remote, details, prev_hash, hash, key_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			e.Seq, e.At, e.Actor, e.Action, e.Resource, e.Outcome, e.Remote, e.Details, e.PrevHash, e.Hash, e.KeyID)
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	return e, nil
}

// Bounds on what one row holds. Audited values often come from the request (a remote
// address, a reason, a presented key's prefix): these keep a caller, or an attacker behind
// one, from writing an unbounded row under the chain's lock.
const (
	maxFieldBytes       = 256 // actor, action, resource, outcome, remote
	maxDetailKeys       = 32
	maxDetailKeyBytes   = 64
	maxDetailValueBytes = 1024
	// detailsCut counts the details keys that did not fit.
	detailsCut = "details_truncated"
)

// capped bounds e's fields. Details beyond maxDetailKeys keep the first keys in sorted order
// (deterministic, whatever the map's order) and say how many were left out.
func capped(e Entry) Entry {
	for _, f := range []*string{&e.Actor, &e.Action, &e.Resource, &e.Outcome, &e.Remote} {
		*f = truncate(*f, maxFieldBytes)
	}
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	kept := keys
	if len(keys) > maxDetailKeys {
		kept = keys[:maxDetailKeys-1]
	}
	details := make(map[string]string, len(kept)+1)
	for _, k := range kept {
		details[truncate(k, maxDetailKeyBytes)] = truncate(e.Details[k], maxDetailValueBytes)
	}
	if len(kept) < len(keys) {
		details[detailsCut] = strconv.Itoa(len(keys) - len(kept))
	}
	e.Details = details
	return e
}

// truncate makes s storable (Postgres refuses invalid UTF-8 and NUL in text and jsonb, which
// would lose the row) and cuts it to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// link is the row's hash: over the previous hash and the canonical JSON of the row's
// content (encoding/json sorts map keys, so the encoding is canonical), HMAC-SHA256 under
// the key the row names, or plain SHA-256 for the rows chained before there was a key.
func link(keys *keyring.Keyring, e Entry) ([]byte, error) {
	content, _ := json.Marshal(struct { // plain fields: cannot fail
		Seq                                      int64
		At                                       string
		Actor, Action, Resource, Outcome, Remote string
		Details                                  map[string]string
	}{e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Resource, e.Outcome, e.Remote, e.Details})
	msg := append(slices.Clone(e.PrevHash), content...)
	if e.KeyID == "" {
		sum := sha256.Sum256(msg)
		return sum[:], nil
	}
	return keys.MAC(e.KeyID, msg)
}

const columns = `seq, at, actor, action, resource, outcome, remote, details, prev_hash, hash, key_id`

// List returns up to limit entries after sequence after, oldest first.
func List(ctx context.Context, q pg.Querier, after int64, limit int) ([]Entry, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	entries, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return entries, nil
}

// Head returns the chain's last row; false when the chain is empty.
func (l *Log) Head(ctx context.Context) (Entry, bool, error) {
	rows, err := l.pool.Query(ctx, `SELECT `+columns+` FROM audit_log ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return Entry{}, false, fmt.Errorf("read audit log head: %w", err)
	}
	e, err := pgx.CollectExactlyOneRow(rows, scanEntry)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Entry{}, false, nil
	case err != nil:
		return Entry{}, false, fmt.Errorf("read audit log head: %w", err)
	}
	return e, true, nil
}

func scanEntry(row pgx.CollectableRow) (Entry, error) {
	var e Entry
	err := row.Scan(&e.Seq, &e.At, &e.Actor, &e.Action, &e.Resource, &e.Outcome, &e.Remote, &e.Details, &e.PrevHash, &e.Hash, &e.KeyID)
	e.At = e.At.UTC()
	return e, err
}
