package migrations_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/audit/audittest"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/migrations"
)

// 00018 keys the audit log's chain: the rows chained before it with plain SHA-256 keep no
// key ID and still verify, with the keyed rows appended after them.
func TestAuditKeyedKeepsEarlierRowsVerifiable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDB(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.ApplyVersion(ctx, 18, false); err != nil {
		t.Fatal(err)
	}
	// Three rows as the earlier code wrote them.
	prev := make([]byte, sha256.Size)
	for seq := int64(1); seq <= 3; seq++ {
		e := audit.Entry{Seq: seq, At: time.Now().UTC().Truncate(time.Microsecond), Actor: "staff:key_1", Action: "api_key.revoke",
			Resource: fmt.Sprint("key_", seq), Outcome: audit.Success, Remote: "127.0.0.1", Details: map[string]string{"n": fmt.Sprint(seq)}, PrevHash: prev}
		e.Hash = audittest.PlainHash(e)
		if _, err := db.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, resource, outcome, remote, details, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, e.Seq, e.At, e.Actor, e.Action, e.Resource, e.Outcome, e.Remote, e.Details, e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	if _, err := provider.ApplyVersion(ctx, 18, true); err != nil {
		t.Fatal(err)
	}

	pool, err := pg.Connect(ctx, url, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	spec, err := keyring.GenerateKey("audit1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := audit.NewLog(pool, keys).Append(ctx, audit.Entry{Actor: "staff:key_1", Action: "api_key.create", Outcome: audit.Success}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := audit.List(ctx, pool, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := audit.Verify(keys, nil, entries); err != nil || sum.Rows != 5 || sum.Unkeyed != 3 {
		t.Fatalf("the chain across the change: %+v, %v", sum, err)
	}
}
