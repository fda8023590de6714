// Package pgtest gives each test its own migrated Postgres database, cloned in milliseconds
// from a template that is migrated once per migration set.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/testenv"
	"github.com/durapay/durapay/migrations"
)

// AdminURL is the server the test databases live on (any database on it; the "postgres"
// database by default).
func AdminURL() string {
	return testenv.Getenv("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
}

// NewDB creates a fresh migrated database for t, dropped when t ends, and returns its URL.
func NewDB(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url, drop, err := CreateDatabase(ctx)
	var unreachable *UnreachableError
	if errors.As(err, &unreachable) {
		testenv.Unavailable(t, "Postgres", unreachable.Err, testenv.StartPostgres)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Logf("drop test database: %v", err)
		}
	})
	return url
}

// UnreachableError: the Postgres server for tests does not answer.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "Postgres is not reachable: " + e.Err.Error() }

// CreateDatabase clones a fresh migrated database and returns its URL and a function that
// drops it. For TestMain, which has no testing.T; tests use NewDB.
func CreateDatabase(ctx context.Context) (url string, drop func() error, err error) {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", nil, &UnreachableError{Err: err}
	}
	defer admin.Close(ctx)
	template, err := ensureTemplate(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("prepare template database: %w", err)
	}
	name := "durapay_test_" + randomHex(8)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		return "", nil, fmt.Errorf("clone test database: %w", err)
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	return withDatabase(AdminURL(), name), drop, nil
}

// NewPool is NewDB with a pool on it, closed when t ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pg.Connect(context.Background(), NewDB(t), 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// ensureTemplate creates and migrates the template for the current migrations once, under an
// advisory lock so that parallel test packages do not race.
func ensureTemplate(ctx context.Context, admin *pgx.Conn) (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	const lockID = 7_240_311 // any constant shared by all test processes
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return "", err
	}
	defer func() { _, _ = admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockID) }()

	var ready bool
	err = admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, name).Scan(&ready)
	if err != nil || ready {
		return name, err
	}
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	if err := pg.Migrate(ctx, withDatabase(AdminURL(), name)); err != nil {
		return "", err
	}
	// Marked a template only once migrated, so a crash halfway leaves nothing half-built in use.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" IS_TEMPLATE true"); err != nil {
		return "", err
	}
	return name, nil
}

// templateName changes whenever a migration changes.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return "durapay_template_" + hex.EncodeToString(h.Sum(nil))[:12], err
}

func withDatabase(rawURL, name string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
