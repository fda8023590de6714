package stripesandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/platform/stripeclient"
)

var initialDue = []string{"business_profile.url", "external_account", "individual.first_name", "individual.last_name", "tos_acceptance.date"}

// newExpressAccount is the account Durapay creates for a merchant it onboards.
func newExpressAccount(workflowID, key string) *stripe.AccountParams {
	p := &stripe.AccountParams{
		Type:         stripe.String(string(stripe.AccountTypeExpress)),
		Country:      stripe.String("US"),
		Email:        stripe.String("owner@merchant.example"),
		BusinessType: stripe.String(string(stripe.AccountBusinessTypeIndividual)),
		BusinessProfile: &stripe.AccountBusinessProfileParams{
			Name: stripe.String("Merchant & Co"),
		},
		Capabilities: &stripe.AccountCapabilitiesParams{
			CardPayments: &stripe.AccountCapabilitiesCardPaymentsParams{Requested: stripe.Bool(true)},
			Transfers:    &stripe.AccountCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
	}
	p.AddMetadata("durapay_workflow_id", workflowID)
	if key != "" {
		p.SetIdempotencyKey(key)
	}
	return p
}

// accountEvents decodes the stored events of a type into their accounts.
func accountEvents(t *testing.T, sb *stripesandbox.Server, typ string) []*stripe.Account {
	t.Helper()
	var out []*stripe.Account
	for _, raw := range sb.Events(typ) {
		var ev stripe.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		var a stripe.Account
		if err := json.Unmarshal(ev.Data.Raw, &a); err != nil {
			t.Fatal(err)
		}
		if ev.Account != a.ID {
			t.Errorf("%s %s names account %q, want the connected account %s", typ, ev.ID, ev.Account, a.ID)
		}
		out = append(out, &a)
	}
	return out
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var noRedirects = &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func TestConnectAccountCreateRetrieveUpdateList(t *testing.T) {
	t.Parallel()
	sb, sc, _ := start(t, stripesandbox.Config{})
	a, err := sc.Accounts.New(newExpressAccount("wf-1", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.ID, "acct_") || a.Object != "account" || a.Type != stripe.AccountTypeExpress || a.Country != "US" || a.DefaultCurrency != "usd" {
		t.Fatalf("account = %s %s %s %s %s", a.ID, a.Object, a.Type, a.Country, a.DefaultCurrency)
	}
	if a.ChargesEnabled || a.PayoutsEnabled || a.DetailsSubmitted {
		t.Fatalf("new account: charges %v payouts %v details %v, want all false", a.ChargesEnabled, a.PayoutsEnabled, a.DetailsSubmitted)
	}
	if a.Email != "owner@merchant.example" || a.BusinessType != stripe.AccountBusinessTypeIndividual || a.BusinessProfile == nil || a.BusinessProfile.Name != "Merchant & Co" {
		t.Fatalf("account details = %q %q %+v", a.Email, a.BusinessType, a.BusinessProfile)
	}
	if a.Metadata["durapay_workflow_id"] != "wf-1" {
		t.Fatalf("metadata = %v", a.Metadata)
	}
	if a.Capabilities == nil || a.Capabilities.CardPayments != stripe.AccountCapabilityStatusInactive || a.Capabilities.Transfers != stripe.AccountCapabilityStatusInactive || a.Capabilities.Treasury != "" {
		t.Fatalf("capabilities = %+v, want card_payments and transfers inactive, nothing else", a.Capabilities)
	}
	r := a.Requirements
	if r == nil || !slices.Equal(r.CurrentlyDue, initialDue) || !slices.Equal(r.EventuallyDue, initialDue) || len(r.PastDue) != 0 || r.DisabledReason != "requirements.past_due" {
		t.Fatalf("requirements = %+v", r)
	}
	if a.Controller == nil || a.Controller.Type != stripe.AccountControllerTypeApplication || a.ExternalAccounts == nil || len(a.ExternalAccounts.Data) != 0 {
		t.Fatalf("controller %+v, external accounts %+v", a.Controller, a.ExternalAccounts)
	}
	if n := len(sb.Events("account.*")); n != 0 {
		t.Fatalf("%d account events after creation, want none (Stripe sends a platform none for accounts it creates)", n)
	}

	got, err := sc.Accounts.GetByID(a.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.Metadata["durapay_workflow_id"] != "wf-1" || !slices.Equal(got.Requirements.CurrentlyDue, initialDue) {
		t.Fatalf("retrieved %+v", got)
	}

	up := &stripe.AccountParams{Email: stripe.String("new@merchant.example")}
	up.AddMetadata("tier", "gold")
	updated, err := sc.Accounts.Update(a.ID, up)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Email != "new@merchant.example" || updated.Metadata["tier"] != "gold" || updated.Metadata["durapay_workflow_id"] != "wf-1" {
		t.Fatalf("after update: email %q metadata %v", updated.Email, updated.Metadata)
	}
	unset := &stripe.AccountParams{}
	unset.AddMetadata("tier", "")
	updated, err = sc.Accounts.Update(a.ID, unset)
	if err != nil {
		t.Fatal(err)
	}
	if _, still := updated.Metadata["tier"]; still || updated.Metadata["durapay_workflow_id"] != "wf-1" {
		t.Fatalf("after unsetting tier: metadata %v", updated.Metadata)
	}
	if _, err := sc.Accounts.Update(a.ID, &stripe.AccountParams{Email: stripe.String("new@merchant.example")}); err != nil {
		t.Fatal(err)
	}
	evs := accountEvents(t, sb, "account.updated")
	if len(evs) != 2 {
		t.Fatalf("%d account.updated events, want 2 (one per change; the no-op update sends none)", len(evs))
	}
	if evs[0].Metadata["tier"] != "gold" || evs[1].Metadata["durapay_workflow_id"] != "wf-1" {
		t.Fatalf("event snapshots: %v, %v", evs[0].Metadata, evs[1].Metadata)
	}

	b, err := sc.Accounts.New(newExpressAccount("wf-2", ""))
	if err != nil {
		t.Fatal(err)
	}
	lp := &stripe.AccountListParams{}
	lp.Limit = stripe.Int64(1) // one page per account
	it := sc.Accounts.List(lp)
	var ids []string
	for it.Next() {
		ids = append(ids, it.Account().ID)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{b.ID, a.ID}) {
		t.Fatalf("listed %v, want %v (newest first)", ids, []string{b.ID, a.ID})
	}
}

func TestConnectAccountIdempotency(t *testing.T) {
	t.Parallel()
	_, sc, _ := start(t, stripesandbox.Config{})
	first, err := sc.Accounts.New(newExpressAccount("wf-idem", "onboard-wf-idem"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := sc.Accounts.New(newExpressAccount("wf-idem", "onboard-wf-idem"))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay gave %s (replayed %q), want %s replayed", again.ID, again.LastResponse.Header.Get("Idempotent-Replayed"), first.ID)
	}
	n := 0
	for it := sc.Accounts.List(&stripe.AccountListParams{}); it.Next(); {
		n++
	}
	if n != 1 {
		t.Fatalf("%d accounts exist, want 1", n)
	}
	_, err = sc.Accounts.New(newExpressAccount("wf-other", "onboard-wf-idem"))
	if se := stripeErr(t, err); se.Type != stripe.ErrorTypeIdempotency || se.HTTPStatusCode != 400 {
		t.Fatalf("same key, other parameters: %s %d, want idempotency_error 400", se.Type, se.HTTPStatusCode)
	}
}

func TestConnectRefusals(t *testing.T) {
	t.Parallel()
	_, sc, _ := start(t, stripesandbox.Config{})

	for _, tt := range []struct{ key, param string }{
		{"surprise", "surprise"},
		{"company[name]", "company"}, // a real Stripe parameter the sandbox does not model
		{"business_profile[bogus]", "business_profile[bogus]"},
		{"capabilities[teleport_payments][requested]", "capabilities[teleport_payments]"},
	} {
		p := newExpressAccount("wf", "")
		p.AddExtra(tt.key, "1")
		_, err := sc.Accounts.New(p)
		if se := stripeErr(t, err); se.Code != "parameter_unknown" || se.Param != tt.param {
			t.Errorf("%s: got %s %s, want parameter_unknown %s", tt.key, se.Code, se.Param, tt.param)
		}
	}
	bad := newExpressAccount("wf", "")
	bad.Type = stripe.String("platinum")
	if se := stripeErr(t, func() error { _, err := sc.Accounts.New(bad); return err }()); se.Param != "type" || se.HTTPStatusCode != 400 {
		t.Errorf("bad type: %s %d", se.Param, se.HTTPStatusCode)
	}

	a, err := sc.Accounts.New(newExpressAccount("wf", ""))
	if err != nil {
		t.Fatal(err)
	}
	up := &stripe.AccountParams{Country: stripe.String("GB")} // not updatable
	_, err = sc.Accounts.Update(a.ID, up)
	if se := stripeErr(t, err); se.Code != "parameter_unknown" || se.Param != "country" {
		t.Errorf("update country: %s %s", se.Code, se.Param)
	}

	// Stripe does not say whether an account it will not show exists: 403 account_invalid.
	const missing = "acct_1NoSuchAccount00"
	check := func(what string, err error) {
		t.Helper()
		se := stripeErr(t, err)
		if se.HTTPStatusCode != 403 || se.Code != "account_invalid" || !strings.Contains(se.Msg, missing) {
			t.Errorf("%s: %d %s %q, want 403 account_invalid", what, se.HTTPStatusCode, se.Code, se.Msg)
		}
	}
	_, err = sc.Accounts.GetByID(missing, nil)
	check("retrieve", err)
	_, err = sc.Accounts.Update(missing, &stripe.AccountParams{Email: stripe.String("x@example.com")})
	check("update", err)
	_, err = sc.AccountLinks.New(&stripe.AccountLinkParams{Account: stripe.String(missing), Type: stripe.String("account_onboarding"),
		RefreshURL: stripe.String("https://durapay.example/refresh"), ReturnURL: stripe.String("https://durapay.example/return")})
	check("account link", err)
}

func TestAccountLinks(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Unix(1_700_000_000, 0)}
	sb, sc, base := start(t, stripesandbox.Config{Now: clock.Now})
	a, err := sc.Accounts.New(newExpressAccount("wf-link", ""))
	if err != nil {
		t.Fatal(err)
	}
	linkParams := func() *stripe.AccountLinkParams {
		return &stripe.AccountLinkParams{Account: stripe.String(a.ID), Type: stripe.String("account_onboarding"),
			RefreshURL: stripe.String("https://durapay.example/onboarding/refresh"), ReturnURL: stripe.String("https://durapay.example/onboarding/return"),
			Collect: stripe.String("eventually_due")}
	}
	link, err := sc.AccountLinks.New(linkParams())
	if err != nil {
		t.Fatal(err)
	}
	if link.Object != "account_link" || link.Created != clock.Now().Unix() || link.ExpiresAt != link.Created+300 {
		t.Fatalf("link = %+v, want an account_link expiring 300 s after creation", link)
	}
	prefix := base + "/_sandbox/connect/onboard/" + a.ID + "?link="
	if !strings.HasPrefix(link.URL, prefix) || len(link.URL) == len(prefix) {
		t.Fatalf("link URL = %s, want %s<id>", link.URL, prefix)
	}

	resp, err := noRedirects.Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), a.ID) || !strings.Contains(string(page), `value="complete"`) {
		t.Fatalf("onboarding page: %d %s", resp.StatusCode, page)
	}
	resp, err = noRedirects.Get(link.URL) // single use
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://durapay.example/onboarding/refresh" {
		t.Fatalf("second visit: %d to %q, want 302 to the refresh_url", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The form on the page posts back through the link and returns the merchant to the platform.
	resp, err = noRedirects.PostForm(link.URL, url.Values{"result": {"complete"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://durapay.example/onboarding/return" {
		t.Fatalf("form submission: %d to %q, want 303 to the return_url", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got, err := sc.Accounts.GetByID(a.ID, nil); err != nil || !got.ChargesEnabled {
		t.Fatalf("after submitting all details: %v %v", got, err)
	}
	if n := len(sb.Events("account.updated")); n != 1 {
		t.Fatalf("%d account.updated events, want 1", n)
	}

	late, err := sc.AccountLinks.New(linkParams())
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(301 * time.Second)
	resp, err = noRedirects.Get(late.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://durapay.example/onboarding/refresh" {
		t.Fatalf("expired link: %d to %q, want 302 to the refresh_url", resp.StatusCode, resp.Header.Get("Location"))
	}

	t.Run("refusals", func(t *testing.T) {
		p := linkParams()
		p.RefreshURL = nil
		_, err := sc.AccountLinks.New(p)
		if se := stripeErr(t, err); se.Code != "parameter_missing" || se.Param != "refresh_url" {
			t.Errorf("no refresh_url: %s %s", se.Code, se.Param)
		}
		p = linkParams()
		p.Type = stripe.String("account_update") // Express accounts edit their details in Stripe's dashboard
		_, err = sc.AccountLinks.New(p)
		if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "type" {
			t.Errorf("account_update for an Express account: %d %s", se.HTTPStatusCode, se.Param)
		}
		p = linkParams()
		p.CollectionOptions = &stripe.AccountLinkCollectionOptionsParams{Fields: stripe.String("eventually_due")}
		_, err = sc.AccountLinks.New(p)
		if se := stripeErr(t, err); se.Param != "collection_options" {
			t.Errorf("collect with collection_options: %s %s", se.Code, se.Param)
		}
		p = linkParams()
		p.AddExtra("surprise", "1")
		_, err = sc.AccountLinks.New(p)
		if se := stripeErr(t, err); se.Code != "parameter_unknown" || se.Param != "surprise" {
			t.Errorf("unknown parameter: %s %s", se.Code, se.Param)
		}
	})
}

func TestOnboardingPartialThenComplete(t *testing.T) {
	t.Parallel()
	const secret = "whsec_connect"
	got := make(chan stripe.Event, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := webhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), secret)
		if err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(400)
			return
		}
		got <- ev
	}))
	defer receiver.Close()
	sb, sc, base := start(t, stripesandbox.Config{WebhookURL: receiver.URL, WebhookSecrets: []string{secret}})

	a, err := sc.Accounts.New(newExpressAccount("wf-kyc", ""))
	if err != nil {
		t.Fatal(err)
	}

	if err := sb.CompleteOnboarding(a.ID, stripesandbox.OnboardingPartial); err != nil {
		t.Fatal(err)
	}
	partial, err := sc.Accounts.GetByID(a.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !partial.DetailsSubmitted || partial.ChargesEnabled || partial.PayoutsEnabled {
		t.Fatalf("after partial: details %v charges %v payouts %v, want true false false", partial.DetailsSubmitted, partial.ChargesEnabled, partial.PayoutsEnabled)
	}
	due := partial.Requirements.CurrentlyDue
	if len(due) == 0 || len(due) >= len(initialDue) || partial.Requirements.DisabledReason != "requirements.past_due" {
		t.Fatalf("after partial: currently_due %v (disabled_reason %q), want some but not all of %v", due, partial.Requirements.DisabledReason, initialDue)
	}
	for _, f := range due {
		if !slices.Contains(initialDue, f) {
			t.Fatalf("after partial: %s is due, which was never asked for", f)
		}
	}

	if err := sb.CompleteOnboarding(a.ID, stripesandbox.OnboardingComplete); err != nil {
		t.Fatal(err)
	}
	done, err := sc.Accounts.GetByID(a.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := done.Requirements
	if !done.DetailsSubmitted || !done.ChargesEnabled || !done.PayoutsEnabled || len(r.CurrentlyDue) != 0 || len(r.EventuallyDue) != 0 || len(r.PastDue) != 0 || r.DisabledReason != "" {
		t.Fatalf("after complete: details %v charges %v payouts %v requirements %+v", done.DetailsSubmitted, done.ChargesEnabled, done.PayoutsEnabled, r)
	}
	if done.Capabilities.CardPayments != stripe.AccountCapabilityStatusActive || done.Capabilities.Transfers != stripe.AccountCapabilityStatusActive {
		t.Fatalf("after complete: capabilities %+v, want active", done.Capabilities)
	}
	if done.ExternalAccounts == nil || len(done.ExternalAccounts.Data) != 1 || done.ExternalAccounts.Data[0].BankAccount == nil || done.TOSAcceptance == nil || done.TOSAcceptance.Date == 0 {
		t.Fatalf("after complete: external accounts %+v, tos_acceptance %+v", done.ExternalAccounts, done.TOSAcceptance)
	}

	evs := accountEvents(t, sb, "account.updated")
	if len(evs) != 2 {
		t.Fatalf("%d account.updated events, want 2", len(evs))
	}
	if evs[0].ID != a.ID || evs[0].ChargesEnabled || !evs[0].DetailsSubmitted || !evs[1].ChargesEnabled {
		t.Fatalf("event snapshots: %+v / %+v", evs[0], evs[1])
	}
	for _, ev := range evs {
		if ev.Metadata["durapay_workflow_id"] != "wf-kyc" {
			t.Fatalf("event account metadata = %v, want durapay_workflow_id", ev.Metadata)
		}
	}
	for i := 0; i < 2; i++ {
		select {
		case ev := <-got:
			var acct stripe.Account
			if err := json.Unmarshal(ev.Data.Raw, &acct); err != nil {
				t.Fatal(err)
			}
			if ev.Type != "account.updated" || acct.ID != a.ID || acct.Metadata["durapay_workflow_id"] != "wf-kyc" {
				t.Fatalf("webhook %d: %s for %s (metadata %v)", i, ev.Type, acct.ID, acct.Metadata)
			}
			if wantCharges := i == 1; acct.ChargesEnabled != wantCharges {
				t.Fatalf("webhook %d: charges_enabled %v, want %v (deliveries in order)", i, acct.ChargesEnabled, wantCharges)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d account.updated webhooks, want 2", i)
		}
	}

	// Stripe asks for more later: charges stop until it is provided.
	resp, err := http.Post(base+"/_sandbox/connect/onboard/"+a.ID, "application/json", strings.NewReader(`{"result":"new_requirement"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("control route: %d", resp.StatusCode)
	}
	more, err := sc.Accounts.GetByID(a.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if more.ChargesEnabled || !slices.Equal(more.Requirements.CurrentlyDue, []string{"company.tax_id"}) || more.Requirements.DisabledReason == "" || more.Capabilities.CardPayments != stripe.AccountCapabilityStatusInactive {
		t.Fatalf("after new_requirement: charges %v requirements %+v capabilities %+v", more.ChargesEnabled, more.Requirements, more.Capabilities)
	}
	if n := len(sb.Events("account.updated")); n != 3 {
		t.Fatalf("%d account.updated events, want 3", n)
	}

	if err := sb.CompleteOnboarding(a.ID, "maybe"); err == nil {
		t.Error("an unknown result was accepted")
	}
	if err := sb.CompleteOnboarding("acct_missing", stripesandbox.OnboardingComplete); err == nil {
		t.Error("onboarding an unknown account succeeded")
	}
	resp, err = http.Post(base+"/_sandbox/connect/onboard/"+a.ID, "application/json", strings.NewReader(`{"result":"maybe"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("control route with a bad result: %d, want 400", resp.StatusCode)
	}
}

func TestConnectStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sandbox.json")
	sb, err := stripesandbox.New(stripesandbox.Config{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	sc := stripeclient.New(stripeclient.Config{SecretKey: testKey, APIBase: srv.URL, Timeout: 5 * time.Second})
	a, err := sc.Accounts.New(newExpressAccount("wf-persist", "persist-account"))
	if err != nil {
		t.Fatal(err)
	}
	link, err := sc.AccountLinks.New(&stripe.AccountLinkParams{Account: stripe.String(a.ID), Type: stripe.String("account_onboarding"),
		RefreshURL: stripe.String("https://durapay.example/refresh"), ReturnURL: stripe.String("https://durapay.example/return")})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.CompleteOnboarding(a.ID, stripesandbox.OnboardingPartial); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	sb2, sc2, base2 := start(t, stripesandbox.Config{StatePath: path})
	got, err := sc2.Accounts.GetByID(a.ID, nil)
	if err != nil || !got.DetailsSubmitted || got.Metadata["durapay_workflow_id"] != "wf-persist" {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	replayed, err := sc2.Accounts.New(newExpressAccount("wf-persist", "persist-account"))
	if err != nil || replayed.ID != a.ID {
		t.Fatalf("idempotent replay after restart: %v, %v", replayed, err)
	}
	linkURL := base2 + link.URL[strings.Index(link.URL, "/_sandbox/"):] // the new server listens elsewhere
	resp, err := noRedirects.Get(linkURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("link after restart: %d", resp.StatusCode)
	}
	if err := sb2.CompleteOnboarding(a.ID, stripesandbox.OnboardingComplete); err != nil {
		t.Fatal(err)
	}
}
