package activities_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/devstack"
	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
)

// The anchor names the log's last row (sequence, hash, key); an empty log has none.
func TestAnchorAuditLogAnchorsTheLastRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	spec, err := keyring.GenerateKey("audit1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	cfg, stop, err := devstack.StartS3("", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	store, err := objectstore.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log, anchors := audit.NewLog(pool, keys), audit.NewAnchors(store)
	env := newActivityEnv()
	env.RegisterActivityWithOptions(activities.NewAudit(log, anchors).AnchorAuditLog, activity.RegisterOptions{Name: schemas.AnchorAuditLogName})
	anchor := func() schemas.AuditAnchorResult {
		t.Helper()
		v, err := env.ExecuteActivity(schemas.AnchorAuditLogName, schemas.AuditAnchorInput{RetainFor: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var res schemas.AuditAnchorResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}

	if res := anchor(); res != (schemas.AuditAnchorResult{}) {
		t.Errorf("an empty log anchored as %+v", res)
	}
	for range 3 {
		if _, err := log.Append(ctx, audit.Entry{Actor: "staff:key_1", Action: "api_key.revoke", Outcome: audit.Success}); err != nil {
			t.Fatal(err)
		}
	}
	res := anchor()
	listed, _, err := anchors.List(ctx, "", 10)
	if err != nil || len(listed) != 1 {
		t.Fatalf("%d anchors (%v), want 1", len(listed), err)
	}
	head, _, err := log.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := listed[0]
	if res.Seq != 3 || res.Object != a.Object || a.Seq != 3 || !bytes.Equal(a.Hash, head.Hash) || a.KeyID != "audit1" {
		t.Errorf("anchored %+v as %+v; the head is row %d", res, a, head.Seq)
	}
}
