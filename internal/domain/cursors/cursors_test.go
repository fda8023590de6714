package cursors_test

import (
	"context"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/cursors"
	"github.com/durapay/durapay/internal/platform/pgtest"
)

// A job without a position is told so; a position moves forward only.
func TestPositionMovesForwardOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if _, ok, err := cursors.Position(ctx, pool, "job"); err != nil || ok {
		t.Fatalf("a job that never saved: ok %v, %v", ok, err)
	}
	t1 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for _, pos := range []time.Time{t1, t1.Add(-time.Hour)} {
		if err := cursors.Advance(ctx, pool, "job", pos); err != nil {
			t.Fatal(err)
		}
	}
	if err := cursors.Advance(ctx, pool, "other job", t1.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, ok, err := cursors.Position(ctx, pool, "job")
	if err != nil || !ok || !got.Equal(t1) {
		t.Fatalf("after advancing to %s then back an hour: %s (ok %v, %v)", t1, got, ok, err)
	}
}
