package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/schemas"
)

// Every route of the table is called with no key and with each kind of key: each answers
// only whom its access level (and, for a restricted key, its scope) names, and every route
// with an {id} is reached through the caller's own scope (a merchant's ID on another
// merchant's object answers 404, tested per route family elsewhere).
func TestEveryRouteChecksWhoCalls(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	staff := func(roles ...string) string {
		key, _, err := merchants.IssueStaffKey(ctx, f.srv.pool, strings.Join(roles, ","), time.Hour, roles...)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	readOnly, _, err := merchants.IssueRestrictedKey(ctx, f.srv.pool, f.merchant, "reader", merchants.ModeTest, []string{merchants.ScopePaymentsRead})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{
		"merchant secret": f.key, "merchant read-only": readOnly,
		"operator": staff(merchants.RoleOperator), "finance": staff(merchants.RoleFinance), "admin": staff(merchants.RoleAdmin),
	}
	mayCall := func(rt route, who string) bool {
		switch rt.access {
		case merchant:
			return who == "merchant secret" || (who == "merchant read-only" && rt.scope == merchants.ScopePaymentsRead)
		case operator:
			return who == "operator" || who == "admin"
		case finance:
			return who == "finance" || who == "admin"
		case admin:
			return who == "admin"
		case signup:
			return who == "operator" || who == "admin"
		case merchantOrStaff:
			return who != "merchant read-only" || rt.scope == merchants.ScopePaymentsRead
		}
		return false
	}
	for _, rt := range f.srv.routeTable() {
		name := rt.method + " " + rt.path
		path := strings.ReplaceAll(rt.path, "{id}", schemas.PaymentID(f.merchant, "route-walk"))
		if strings.HasPrefix(rt.path, "/v1/") && rt.access == public {
			t.Errorf("%s is public", name)
		}
		if strings.HasPrefix(rt.path, "/v1/admin/") != (rt.access == operator || rt.access == admin) ||
			strings.HasPrefix(rt.path, "/v1/finance/") != (rt.access == finance) {
			t.Errorf("%s: /v1/admin/ routes are for operators or admins, /v1/finance/ for finance, and only they", name)
		}
		if rt.access == merchant && rt.scope != secretOnly && !slices.Contains(merchants.Scopes, rt.scope) {
			t.Errorf("%s: a merchant route needs a scope", name)
		}
		if rt.access == public {
			continue
		}
		noKey := f.do(t, rt.method, path, "", "", "")
		if rt.access == signed {
			if noKey.status != 400 || noKey.errorCode() != codeWebhookSignatureInvalid {
				t.Errorf("%s without a signature: %d %s", name, noKey.status, noKey.raw)
			}
			continue
		}
		if rt.access == keyLink {
			if bad := f.do(t, rt.method, path, "", "", `{"token":"klt_forged"}`); bad.status != 404 || bad.errorCode() != codeKeyLinkInvalid {
				t.Errorf("%s with a forged link: %d %s", name, bad.status, bad.raw)
			}
			continue
		}
		if noKey.status != 401 {
			t.Errorf("%s with no key: %d", name, noKey.status)
		}
		for who, key := range keys {
			r := f.do(t, rt.method, path, key, "", "")
			denied := r.status == 401 || r.status == 403
			if denied == mayCall(rt, who) {
				t.Errorf("%s as %s: %d %s", name, who, r.status, r.errorCode())
			}
		}
	}
}
