package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/durapay/durapay/internal/domain/merchants"
)

// issueKeys gives the fixture's merchant n more restricted keys, oldest first.
func (f *fixture) issueKeys(t *testing.T, n int) []merchants.APIKey {
	t.Helper()
	keys := make([]merchants.APIKey, n)
	for i := range keys {
		_, k, err := merchants.IssueRestrictedKey(context.Background(), f.srv.pool, f.merchant, fmt.Sprint("key ", i), merchants.ModeTest,
			[]string{merchants.ScopePaymentsRead})
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	return keys
}

// A merchant holds at most 50 active keys. Revoked and expired keys do not count, and
// concurrent creations cannot pass the cap together.
func TestAPIKeyCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	spare := f.issueKeys(t, 47)
	for _, k := range spare[:2] {
		if _, err := merchants.RevokeKey(ctx, f.srv.pool, f.merchant, k.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.srv.pool.Exec(ctx, `UPDATE api_keys SET expires_at = now() - interval '1 hour' WHERE id = $1`, spare[2].ID); err != nil {
		t.Fatal(err)
	}
	// Active: the secret key and 44 restricted ones. Room for 5.
	var mu sync.Mutex
	statuses := map[string]int{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			r := f.do(t, "POST", "/v1/api_keys", f.key, "", `{"name":"burst","scopes":["payments:read"]}`)
			mu.Lock()
			defer mu.Unlock()
			statuses[fmt.Sprint(r.status, " ", r.errorCode())]++
		})
	}
	wg.Wait()
	if statuses["201 "] != 5 || statuses["409 api_key_limit_reached"] != 15 {
		t.Fatalf("20 concurrent creations with room for 5: %v", statuses)
	}
	// A roll adds a key (the old one works until its overlap ends): refused at the cap too.
	if r := f.do(t, "POST", "/v1/api_keys/"+spare[3].ID+"/roll", f.key, "", ""); r.status != 409 || r.errorCode() != codeAPIKeyLimitReached {
		t.Fatalf("a roll at the cap: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "POST", "/v1/api_keys/"+spare[3].ID+"/revoke", f.key, "", ""); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "POST", "/v1/api_keys", f.key, "", `{"name":"after a revocation","scopes":["payments:read"]}`); r.status != 201 {
		t.Fatalf("a creation after a revocation freed room: %d %s", r.status, r.raw)
	}
}

// A key that was rolled already is not rolled again: its replacement is.
func TestRollingARolledKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	old := f.issueKeys(t, 1)[0]
	first := f.do(t, "POST", "/v1/api_keys/"+old.ID+"/roll", f.key, "", "")
	if first.status != 201 {
		t.Fatalf("roll: %d %s", first.status, first.raw)
	}
	if r := f.do(t, "POST", "/v1/api_keys/"+old.ID+"/roll", f.key, "", ""); r.status != 409 || r.errorCode() != codeAPIKeyAlreadyRolled {
		t.Fatalf("rolling the rolled key again: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "POST", "/v1/api_keys/"+first.body["id"].(string)+"/roll", f.key, "", ""); r.status != 201 {
		t.Fatalf("rolling its replacement: %d %s", r.status, r.raw)
	}
}

// GET /v1/api_keys pages as Stripe's lists do: newest first, limit 1 to 100 (10 by
// default), starting_after or ending_before an object of the list, and has_more.
func TestAPIKeyListPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	issued := f.issueKeys(t, 24)
	var newestFirst []string
	for _, k := range slices.Backward(issued) {
		newestFirst = append(newestFirst, k.ID)
	}
	all := f.do(t, "GET", "/v1/api_keys?limit=100", f.key, "", "")
	if ids := pageIDs(t, all); len(ids) != 25 || !slices.Equal(ids[:24], newestFirst) || all.body["has_more"] != false {
		t.Fatalf("every key, newest first: %v has_more %v", ids, all.body["has_more"])
	}
	newestFirst = pageIDs(t, all)

	var walked []string
	query := url.Values{}
	for page := 0; ; page++ {
		r := f.do(t, "GET", "/v1/api_keys?"+query.Encode(), f.key, "", "")
		ids := pageIDs(t, r)
		walked = append(walked, ids...)
		if more := r.body["has_more"] == true; !more {
			if page != 2 || len(ids) != 5 {
				t.Fatalf("page %d of %d keys by 10 is the last, with %d keys", page, 25, len(ids))
			}
			break
		}
		query.Set("starting_after", ids[len(ids)-1])
	}
	if !slices.Equal(walked, newestFirst) {
		t.Fatalf("pages walked forward: %v, want %v", walked, newestFirst)
	}

	back := f.do(t, "GET", "/v1/api_keys?limit=5&ending_before="+newestFirst[20], f.key, "", "")
	if ids := pageIDs(t, back); !slices.Equal(ids, newestFirst[15:20]) || back.body["has_more"] != true {
		t.Fatalf("the page before the 21st key: %v has_more %v, want %v", ids, back.body["has_more"], newestFirst[15:20])
	}
	top := f.do(t, "GET", "/v1/api_keys?ending_before="+newestFirst[0], f.key, "", "")
	if ids := pageIDs(t, top); len(ids) != 0 || top.body["has_more"] != false {
		t.Fatalf("before the newest key: %v has_more %v", ids, top.body["has_more"])
	}

	ctx := context.Background()
	otherMerchant := merchants.NewID()
	if err := merchants.Create(ctx, f.srv.pool, merchants.Merchant{ID: otherMerchant, Name: "Another shop"}); err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := merchants.IssueSecretKey(ctx, f.srv.pool, otherMerchant, merchants.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	for query, want := range map[string]string{
		"limit=0": codeParameterInvalid, "limit=101": codeParameterInvalid, "limit=ten": codeParameterInvalid,
		"starting_after=" + newestFirst[1] + "&ending_before=" + newestFirst[3]: codeParameterInvalid,
		"starting_after=key_unknown":   codeResourceMissing,
		"ending_before=" + otherKey.ID: codeResourceMissing,
	} {
		if r := f.do(t, "GET", "/v1/api_keys?"+query, f.key, "", ""); r.errorCode() != want {
			t.Errorf("%s: %d %s, want %s", query, r.status, r.raw, want)
		}
	}
}

func pageIDs(t *testing.T, r reply) []string {
	t.Helper()
	if r.status != 200 || r.body["object"] != "list" {
		t.Fatalf("a list: %d %s", r.status, r.raw)
	}
	ids := []string{}
	for _, o := range r.body["data"].([]any) {
		ids = append(ids, o.(map[string]any)["id"].(string))
	}
	return ids
}
