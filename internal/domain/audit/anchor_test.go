package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/audit/audittest"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/pgtest"
)

// An anchor is written once, under S3 Object Lock in compliance mode for the time asked from
// its own time, and listed in the order written, in pages. (The local server keeps the lock
// as S3 reports it, without enforcing it.)
func TestAnchorsAreWrittenLockedAndListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, stop, err := devstack.StartS3("", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	store, err := objectstore.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	anchors := audit.NewAnchors(store)
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	const retain = 61368 * time.Hour
	var written []audit.Anchor
	for seq := int64(1); seq <= 3; seq++ {
		a, err := anchors.Write(ctx, audit.Anchor{Seq: seq * 10, Hash: []byte{byte(seq)}, KeyID: "audit1", At: at.Add(time.Duration(seq) * time.Hour)}, retain)
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, a)
	}
	if written[0].Object != "audit-anchors/20261130T110000Z-10.json" {
		t.Errorf("anchor stored as %s", written[0].Object)
	}

	awsCfg, err := cfg.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true }).HeadObject(ctx,
		&s3.HeadObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(written[0].Object)})
	if err != nil {
		t.Fatal(err)
	}
	if until := written[0].At.Add(retain); head.ObjectLockMode != types.ObjectLockModeCompliance || !aws.ToTime(head.ObjectLockRetainUntilDate).Equal(until) {
		t.Errorf("locked %q until %v, want COMPLIANCE until %s", head.ObjectLockMode, head.ObjectLockRetainUntilDate, until)
	}

	first, more, err := anchors.List(ctx, "", 2)
	if diff := cmp.Diff(written[:2], first); err != nil || diff != "" || !more {
		t.Errorf("first page (more %v, %v), -want +got:\n%s", more, err, diff)
	}
	rest, more, err := anchors.List(ctx, first[1].Object, 2)
	if diff := cmp.Diff(written[2:], rest); err != nil || diff != "" || more {
		t.Errorf("second page (more %v, %v), -want +got:\n%s", more, err, diff)
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
