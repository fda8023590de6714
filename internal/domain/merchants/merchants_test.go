package merchants_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/internal/platform/pgtest"
)

func TestIssueAndFindKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	id := merchants.NewID()
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: id, Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: id, Name: "Shop"}); err != nil {
		t.Fatalf("creating an existing merchant again: %v", err)
	}
	plain, key, err := merchants.IssueSecretKey(ctx, pool, id, merchants.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, "sk_test_") || len(plain) != len("sk_test_")+32 {
		t.Fatalf("key %q, want sk_test_ and 32 characters", plain)
	}
	var hash []byte
	var prefix string
	if err := pool.QueryRow(ctx, `SELECT key_hash, key_prefix FROM api_keys WHERE id = $1`, key.ID).Scan(&hash, &prefix); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hash, merchants.HashKey(plain)) || prefix != plain[:12] {
		t.Fatalf("stored hash %x prefix %q: want only the SHA-256 and a 12-character prefix", hash, prefix)
	}
	found, err := merchants.FindKey(ctx, pool, merchants.HashKey(plain))
	if err != nil || found.MerchantID != id || found.ID != key.ID {
		t.Fatalf("FindKey = %+v, %v", found, err)
	}
	if _, err := merchants.FindKey(ctx, pool, merchants.HashKey(plain+"x")); !errors.Is(err, pg.ErrNotFound) {
		t.Fatalf("unknown key: err = %v", err)
	}
	if err := merchants.Create(ctx, pool, merchants.Merchant{ID: "mer_bad id", Name: "x"}); err == nil {
		t.Fatal("a malformed merchant ID was accepted")
	}
}

func TestStaffKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	plain, key, err := merchants.IssueStaffKey(ctx, pool, "on-call operator", time.Hour, merchants.RoleOperator, merchants.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	found, err := merchants.FindKey(ctx, pool, merchants.HashKey(plain))
	if err != nil || found.ID != key.ID || found.MerchantID != "" || found.Kind != merchants.KindStaff ||
		len(found.Roles) != 2 || found.Roles[0] != merchants.RoleOperator {
		t.Fatalf("FindKey = %+v, %v", found, err)
	}
	if _, _, err := merchants.IssueStaffKey(ctx, pool, "bad", time.Hour, "superuser"); err == nil {
		t.Fatal("an unknown role was accepted")
	}
	if _, err := pool.Exec(ctx, `INSERT INTO api_keys (id, key_hash, key_prefix, kind) VALUES ('key_x', $1, 'sk_test_', 'secret')`,
		merchants.HashKey("orphan")); err == nil {
		t.Fatal("a merchant key without a merchant was accepted")
	}
}
