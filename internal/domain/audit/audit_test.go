package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/audit/audittest"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/pgtest"
)

// newKeys returns a keyring of fresh keys, the first the primary.
func newKeys(t *testing.T, ids ...string) *keyring.Keyring {
	t.Helper()
	specs := make([]string, len(ids))
	for i, id := range ids {
		specs[i] = newKeySpec(t, id)
	}
	return parseKeys(t, specs...)
}

func newKeySpec(t *testing.T, id string) string {
	t.Helper()
	spec, err := keyring.GenerateKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func parseKeys(t *testing.T, specs ...string) *keyring.Keyring {
	t.Helper()
	keys, err := keyring.Parse(strings.Join(specs, ","))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// appendRefunds appends n entries.
func appendRefunds(t *testing.T, log *audit.Log, n int) {
	t.Helper()
	for i := range n {
		if _, err := log.Append(context.Background(), audit.Entry{Actor: "staff:key_1", Action: "refund.create", Resource: fmt.Sprint("rfd_", i),
			Outcome: audit.Success, Remote: "127.0.0.1", Details: map[string]string{"amount": fmt.Sprint(i * 100)}}); err != nil {
			t.Fatal(err)
		}
	}
}

// verify reads the whole chain and verifies it; a *Break says where it broke.
func verify(t *testing.T, pool *pgxpool.Pool, keys *keyring.Keyring) (audit.Summary, error) {
	t.Helper()
	entries, err := audit.List(context.Background(), pool, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	return audit.Verify(keys, nil, entries)
}

// brokenAt is the row a verification error names; 0 for none.
func brokenAt(err error) int64 {
	var b *audit.Break
	if errors.As(err, &b) {
		return b.Seq
	}
	return 0
}

func TestChainAndTamperDetection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := newKeys(t, "audit1")
	log := audit.NewLog(pool, keys)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ { // concurrent appends still form one chain
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := log.Append(ctx, audit.Entry{Actor: "staff:key_1", Action: "refund.create", Resource: fmt.Sprint("rfd_", i),
				Outcome: audit.Success, Remote: "127.0.0.1", Details: map[string]string{"amount": fmt.Sprint(i * 100)}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	entries, err := audit.List(ctx, pool, 0, 100)
	if err != nil || len(entries) != 20 {
		t.Fatalf("%d entries (%v)", len(entries), err)
	}
	if sum, err := audit.Verify(keys, nil, entries); err != nil || sum.Rows != 20 || sum.Unkeyed != 0 {
		t.Fatalf("an untouched chain: %+v, %v", sum, err)
	}
	for _, stmt := range []string{`UPDATE audit_log SET outcome = 'refused' WHERE seq = 7`, `DELETE FROM audit_log WHERE seq = 7`, `TRUNCATE audit_log`} {
		if _, err := pool.Exec(ctx, stmt); err == nil {
			t.Fatalf("the database let an audit row be changed: %s", stmt)
		}
	}
	// Someone with the power to switch the guard off edits a row: the chain shows it.
	if _, err := pool.Exec(ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
		UPDATE audit_log SET details = '{"amount":"1"}' WHERE seq = 7;
		ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	entries, _ = audit.List(ctx, pool, 0, 100)
	if _, err := audit.Verify(keys, nil, entries); brokenAt(err) != 7 {
		t.Fatalf("tampering with row 7 detected at %d (%v)", brokenAt(err), err)
	}
	// A deleted row is a gap, and so is a missing first row.
	if _, err := audit.Verify(keys, nil, append(entries[:3:3], entries[4:]...)); brokenAt(err) != 5 {
		t.Fatalf("a removed row detected at %d (%v), want 5", brokenAt(err), err)
	}
	if _, err := audit.Verify(keys, nil, entries[1:]); brokenAt(err) != 2 {
		t.Fatalf("a removed first row detected at %d (%v), want 2", brokenAt(err), err)
	}
}

// No caller can write an unbounded value: every field, each details key and value, and the
// number of details keys are capped inside Append, before the row is hashed, so the chain
// still verifies.
func TestAppendCapsEveryField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	huge := strings.Repeat("é", 100_000)
	details := map[string]string{"nul\x00": "invalid \xff UTF-8"}
	for i := range 1000 {
		details[fmt.Sprint(i, huge)] = huge
	}
	keys := newKeys(t, "audit1")
	if _, err := audit.NewLog(pool, keys).Append(ctx, audit.Entry{Actor: huge, Action: huge, Resource: huge, Outcome: huge, Remote: huge,
		Details: details}); err != nil {
		t.Fatal(err)
	}
	entries, err := audit.List(ctx, pool, 0, 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("%d entries (%v)", len(entries), err)
	}
	e := entries[0]
	for name, v := range map[string]string{"actor": e.Actor, "action": e.Action, "resource": e.Resource, "outcome": e.Outcome, "remote": e.Remote} {
		if len(v) > 256 || !utf8.ValidString(v) {
			t.Errorf("%s is %d bytes (valid UTF-8: %v)", name, len(v), utf8.ValidString(v))
		}
	}
	if len(e.Details) > 32 {
		t.Errorf("%d details keys", len(e.Details))
	}
	for k, v := range e.Details {
		if len(k) > 64 || len(v) > 1024 || !utf8.ValidString(k) || !utf8.ValidString(v) {
			t.Errorf("a details key of %d bytes has a value of %d bytes", len(k), len(v))
		}
	}
	if _, err := audit.Verify(keys, nil, entries); err != nil {
		t.Fatalf("a capped row breaks the chain: %v", err)
	}
}

// What a database owner can do without the guard: edit a row, then recompute every later
// hash so that each row links to the one before. Without the audit key the forger can only
// use plain SHA-256 (and may mark the rows as chained before the key), or a key of their own
// under the real key's ID: Verify, holding the audit key, names the edited row each time.
func TestOwnerRewriteIsDetected(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]audittest.Forgery{
		"plain SHA-256":                         {},
		"plain SHA-256, rows marked as unkeyed": {Unkeyed: true},
		"HMAC under another key of the same ID": {Keys: newKeys(t, "audit1")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := pgtest.NewPool(t)
			keys := newKeys(t, "audit1")
			appendRefunds(t, audit.NewLog(pool, keys), 10)
			f.Seq, f.Details = 4, `{"amount":"1"}`
			restore, err := audittest.Rewrite(ctx, pool, f)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = restore(ctx) })
			if _, err := verify(t, pool, keys); brokenAt(err) != 4 {
				t.Fatalf("a rewritten chain breaks at %d (%v), want row 4 named", brokenAt(err), err)
			}
		})
	}
}

// Keys rotate: a new primary keys new rows, the old key still verifies the rows it keyed,
// and a verifier without it says which key it lacks.
func TestKeysRotate(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	oldKey, newKey := newKeySpec(t, "audit1"), newKeySpec(t, "audit2")
	appendRefunds(t, audit.NewLog(pool, parseKeys(t, oldKey)), 2)
	rotated := parseKeys(t, newKey, oldKey)
	appendRefunds(t, audit.NewLog(pool, rotated), 2)
	if sum, err := verify(t, pool, rotated); err != nil || sum.Rows != 4 {
		t.Fatalf("a rotated chain: %+v, %v", sum, err)
	}
	if _, err := verify(t, pool, parseKeys(t, newKey)); brokenAt(err) != 1 || !errors.Is(err, keyring.ErrUnknownKeyID) {
		t.Fatalf("verified without the old key: %v", err)
	}
}
