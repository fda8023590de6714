// Package cursors keeps the saved positions of the periodic jobs that read another system's
// history from where they left off (the Stripe events backfill, the history archive). It
// owns the sync_cursors table.
package cursors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/durapay/durapay/internal/platform/pg"
)

// Position returns the job's saved position; ok is false when the job has never saved one.
func Position(ctx context.Context, q pg.Querier, name string) (pos time.Time, ok bool, err error) {
	err = q.QueryRow(ctx, `SELECT position FROM sync_cursors WHERE name = $1`, name).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read the position of %s: %w", name, err)
	}
	return pos, true, nil
}

// Advance saves the job's position. It never moves backwards: runs can overlap (a manual
// run beside the scheduled one), and the one that finishes last may have read less.
func Advance(ctx context.Context, q pg.Querier, name string, pos time.Time) error {
	if _, err := q.Exec(ctx, `
		INSERT INTO sync_cursors (name, position) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET position = greatest(sync_cursors.position, EXCLUDED.position), updated_at = now()`,
		name, pos); err != nil {
		return fmt.Errorf("save the position of %s: %w", name, err)
	}
	return nil
}
