package audit_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/durapay/durapay/internal/audit"
	"github.com/durapay/durapay/internal/pgtest"
)

func TestChainAndTamperDetection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ { // concurrent appends still form one chain
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := audit.Append(ctx, pool, audit.Entry{Actor: "staff:key_1", Action: "refund.create", Resource: fmt.Sprint("rfd_", i),
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
	if seq, err := audit.Verify(nil, entries); seq != 0 || err != nil {
		t.Fatalf("an untouched chain fails at %d: %v", seq, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE audit_log SET outcome = 'refused' WHERE seq = 7`); err == nil {
		t.Fatal("the database let an audit row be edited")
	}
	if _, err := pool.Exec(ctx, `DELETE FROM audit_log WHERE seq = 7`); err == nil {
		t.Fatal("the database let an audit row be deleted")
	}
	// Someone with the power to switch the guard off edits a row: the chain shows it.
	if _, err := pool.Exec(ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
		UPDATE audit_log SET details = '{"amount":"1"}' WHERE seq = 7;
		ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update`); err != nil {
		t.Fatal(err)
	}
	entries, _ = audit.List(ctx, pool, 0, 100)
	if seq, err := audit.Verify(nil, entries); seq != 7 || err == nil {
		t.Fatalf("tampering with row 7 detected at %d (%v)", seq, err)
	}
	// A deleted row is a gap.
	if seq, _ := audit.Verify(nil, append(entries[:3:3], entries[4:]...)); seq != 5 {
		t.Fatalf("a removed row detected at %d, want 5", seq)
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
	if _, err := audit.Append(ctx, pool, audit.Entry{Actor: huge, Action: huge, Resource: huge, Outcome: huge, Remote: huge,
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
	if seq, err := audit.Verify(nil, entries); seq != 0 {
		t.Fatalf("a capped row breaks the chain at %d: %v", seq, err)
	}
}
