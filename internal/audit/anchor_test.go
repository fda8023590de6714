package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/audit"
	"github.com/durapay/durapay/internal/audit/audittest"
	"github.com/durapay/durapay/internal/objectstore"
	"github.com/durapay/durapay/internal/objectstore/s3test"
	"github.com/durapay/durapay/internal/pgtest"
)

// An anchor is written under S3 Object Lock in compliance mode, until the time asked (the
// emulator stores it without enforcing the lock: what is checked is that S3 is asked to).
func TestAnchorsAreWrittenLocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s3 := s3test.Start(t)
	store, err := objectstore.New(ctx, s3.Config)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	until := at.AddDate(7, 0, 0)
	a, err := audit.NewAnchors(store).Write(ctx, audit.Anchor{Seq: 42, Hash: []byte{1, 2, 3}, KeyID: "audit1", At: at}, until)
	if err != nil {
		t.Fatal(err)
	}
	if a.Object != "audit-anchors/20261130T100000Z-42.json" {
		t.Errorf("anchor stored as %s", a.Object)
	}
	h := s3.PutHeader(a.Object)
	if h == nil {
		t.Fatalf("no PUT of %s", a.Object)
	}
	if mode, date := h.Get("X-Amz-Object-Lock-Mode"), h.Get("X-Amz-Object-Lock-Retain-Until-Date"); mode != "COMPLIANCE" || date != until.Format(time.RFC3339) {
		t.Errorf("written with lock mode %q until %q, want COMPLIANCE until %s", mode, date, until.Format(time.RFC3339))
	}
	// S3 refuses a locked write without an integrity checksum.
	if h.Get("X-Amz-Checksum-Sha256") == "" && h.Get("X-Amz-Sdk-Checksum-Algorithm") == "" {
		t.Errorf("written without a checksum: %v", h)
	}
}

// Anchors pin the chain against whoever can rewrite it, even with the audit key: a row
// rewritten before an anchor, rows removed from the end, or rows passed off as chained
// before the key are reported; the untouched chain verifies.
func TestVerifyChecksTheChainAgainstItsAnchors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys := newKeys(t, "audit1")
	for name, c := range map[string]struct {
		tamper func(*pgxpool.Pool) (func(context.Context) error, error)
		broken int64
	}{
		"untouched": {func(*pgxpool.Pool) (func(context.Context) error, error) { return nil, nil }, 0},
		"row 4 rewritten with the audit key": {func(pool *pgxpool.Pool) (func(context.Context) error, error) {
			return audittest.Rewrite(ctx, pool, audittest.Forgery{Seq: 4, Details: `{"amount":"1"}`, Keys: keys})
		}, 6},
		"every row rewritten and passed off as chained before the key": {func(pool *pgxpool.Pool) (func(context.Context) error, error) {
			return audittest.Rewrite(ctx, pool, audittest.Forgery{Seq: 1, Details: `{"amount":"1"}`, Unkeyed: true})
		}, 6},
		"rows after 4 removed": {func(pool *pgxpool.Pool) (func(context.Context) error, error) {
			return audittest.Truncate(ctx, pool, 4)
		}, 5},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.NewPool(t)
			log := audit.NewLog(pool, keys)
			appendRefunds(t, log, 6)
			head, _, err := log.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			anchor := audit.Anchor{Seq: head.Seq, Hash: head.Hash, KeyID: head.KeyID, At: time.Now(), Object: "audit-anchors/test.json"}
			appendRefunds(t, log, 3)
			restore, err := c.tamper(pool)
			if err != nil {
				t.Fatal(err)
			}
			if restore != nil {
				t.Cleanup(func() { _ = restore(ctx) })
			}
			entries, err := audit.List(ctx, pool, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := audit.Verify(keys, []audit.Anchor{anchor}, entries)
			if brokenAt(err) != c.broken {
				t.Fatalf("broken at %d (%v), want %d", brokenAt(err), err, c.broken)
			}
			if c.broken == 0 && (sum.Rows != 9 || sum.Anchors != 1 || sum.Latest.Seq != 6) {
				t.Errorf("summary %+v", sum)
			}
		})
	}
}
