package pg_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/pgtest"
)

// A statement running past the pool's statement timeout is cancelled by Postgres, so that a
// runaway scan cannot hold a connection.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	pool, err := pg.Connect(context.Background(), pgtest.NewDB(t), 2, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, err = pool.Exec(context.Background(), `SELECT pg_sleep(2)`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("a 2 s statement under a 100 ms timeout: %v, want query_canceled", err)
	}
	if _, err := pool.Exec(context.Background(), `SELECT 1`); err != nil {
		t.Fatalf("a quick statement: %v", err)
	}
}
