package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/merchants"
)

// Admins list the audit log's anchors from their bucket, oldest first, in pages, for
// durapay-ctl audit verify.
func TestAuditAnchorsAreListedInPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin, _, err := merchants.IssueStaffKey(ctx, f.srv.pool, "auditor", time.Hour, merchants.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	var written []audit.Anchor
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for seq := int64(1); seq <= 3; seq++ {
		a, err := f.srv.anchors.Write(ctx, audit.Anchor{Seq: seq * 10, Hash: []byte{byte(seq)}, KeyID: "audit1", At: at.Add(time.Duration(seq) * time.Hour)},
			time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, a)
	}
	page := func(query string) ([]audit.Anchor, bool) {
		t.Helper()
		r := f.do(t, "GET", "/v1/admin/audit/anchors"+query, admin, "", "")
		var list struct {
			Data    []audit.Anchor `json:"data"`
			HasMore bool           `json:"has_more"`
		}
		if err := json.Unmarshal([]byte(r.raw), &list); r.status != 200 || err != nil {
			t.Fatalf("%s: %d %s", query, r.status, r.raw)
		}
		return list.Data, list.HasMore
	}
	first, more := page("?limit=2")
	if diff := cmp.Diff(written[:2], first); diff != "" || !more {
		t.Errorf("first page (has_more %v), -want +got:\n%s", more, diff)
	}
	rest, more := page("?limit=2&starting_after=" + first[1].Object)
	if diff := cmp.Diff(written[2:], rest); diff != "" || more {
		t.Errorf("second page (has_more %v), -want +got:\n%s", more, diff)
	}
}
