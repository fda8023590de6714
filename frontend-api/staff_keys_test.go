package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/merchants"
)

// Staff keys are issued and revoked by admins through the API, each audited, and expire on
// their own (an hour by default, never beyond STAFF_KEY_MAX_TTL or their issuer's own end).
func TestStaffKeysAreIssuedRevokedAndExpire(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	adminKey, admin, err := merchants.IssueStaffKey(ctx, f.srv.pool, "admin", 2*time.Hour, merchants.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	operatorKey, _, err := merchants.IssueStaffKey(ctx, f.srv.pool, "operator", time.Hour, merchants.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, http.MethodPost, "/v1/admin/staff_keys", operatorKey, "", `{"name":"x","roles":["admin"]}`); r.status != http.StatusForbidden {
		t.Errorf("an operator issuing a staff key: %d %s", r.status, r.raw)
	}
	issued := f.do(t, http.MethodPost, "/v1/admin/staff_keys", adminKey, "", `{"name":"on-call: incident 42","roles":["operator"]}`)
	secret, _ := issued.body["secret"].(string)
	expires, _ := time.Parse(time.RFC3339, issued.body["expires"].(string))
	if issued.status != http.StatusCreated || secret == "" || time.Until(expires) > time.Hour || time.Until(expires) < 59*time.Minute {
		t.Fatalf("issue: %d %s; want a key that expires in an hour", issued.status, issued.raw)
	}
	if r := f.do(t, http.MethodGet, "/v1/admin/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaa", secret, "", ""); r.status != http.StatusNotFound {
		t.Errorf("the issued key at work: %d %s", r.status, r.raw)
	}
	for body, why := range map[string]string{
		`{"name":"x","roles":["operator"],"expires_in_seconds":90000}`: "beyond STAFF_KEY_MAX_TTL",
		`{"name":"x","roles":["operator"],"expires_in_seconds":10800}`: "outliving the admin key that issues it",
		`{"name":"x","roles":["root"]}`:                                "an unknown role",
	} {
		if r := f.do(t, http.MethodPost, "/v1/admin/staff_keys", adminKey, "", body); r.status != http.StatusBadRequest {
			t.Errorf("a key %s: %d %s", why, r.status, r.raw)
		}
	}
	if r := f.do(t, http.MethodPost, "/v1/admin/staff_keys/"+issued.body["id"].(string)+"/revoke", adminKey, "", ""); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if r := f.do(t, http.MethodGet, "/v1/admin/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaa", secret, "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("the revoked key: %d %s", r.status, r.raw)
	}
	short, _, err := merchants.IssueStaffKey(ctx, f.srv.pool, "short", time.Second, merchants.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, http.MethodGet, "/v1/admin/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaa", short, "", ""); r.status != http.StatusNotFound {
		t.Fatalf("a fresh key: %d %s", r.status, r.raw)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := f.do(t, http.MethodGet, "/v1/admin/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaa", short, "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("an expired key (cached while it lived): %d %s", r.status, r.raw)
	}
	entries, err := audit.List(ctx, f.srv.pool, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, e := range entries {
		actions[e.Action] = e.Actor
	}
	if actions["staff_key.issue"] != "staff:"+admin.ID || actions["staff_key.revoke"] != "staff:"+admin.ID {
		t.Errorf("audited %v, want the issue and the revocation by the admin", actions)
	}
}

// A deployment where everyone signs in with OIDC turns staff keys off entirely.
func TestStaffKeysTurnedOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	key, _, err := merchants.IssueStaffKey(context.Background(), f.srv.pool, "break-glass", time.Hour, merchants.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.cfg.StaffKeys = false
	g := f.restart(t)
	if r := g.do(t, http.MethodGet, "/v1/admin/audit", key, "", ""); r.status != http.StatusUnauthorized || r.errorCode() != codeAPIKeyInvalid {
		t.Errorf("a staff key with staff keys off: %d %s", r.status, r.raw)
	}
	if r := g.do(t, http.MethodGet, "/v1/api_keys", f.key, "", ""); r.status != http.StatusOK {
		t.Errorf("a merchant's key meanwhile: %d %s", r.status, r.raw)
	}
}
