package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/schemas"
)

// waitMerchant reads the merchant (as staff) until it has the status.
func (e *stackEnv) waitMerchant(t *testing.T, id string, status schemas.MerchantStatus, timeout time.Duration) response {
	t.Helper()
	var last response
	eventually(t, timeout, func() error {
		last = e.call(t, &e.staff, "GET", "/v1/merchants/"+id, "", nil)
		if last.Body["status"] != string(status) {
			return fmt.Errorf("merchant %s: %d %s, want %s", id, last.Status, last.Raw, status)
		}
		return nil
	})
	return last
}

// The acceptance of onboarding: a merchant onboarded through Stripe's webhooks and an
// operator's approval takes a payment with the key its single-use link revealed, no secret
// is stored anywhere, and another merchant cannot see or touch it through any route.
func TestOnboardingToFirstPayment(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	created := e.call(t, &e.staff, "POST", "/v1/merchants", "onboard-"+t.Name(), map[string]any{
		"legal_name": "Ada's Bakery Ltd", "country": "GB", "contact_email": "ada@bakery.example",
		"contact_phone": "+44 20 7946 0000", "business_type": "company"})
	if created.Status != http.StatusCreated || created.Body["status"] != "onboarding" || created.Body["onboarding_link"] == nil {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	id, acct := created.Body["merchant"].(string), created.Body["stripe_account"].(string)
	if strings.Contains(string(created.Raw), "ada@bakery") {
		t.Error("the answer repeats the contact's personal data")
	}
	var sealed []byte
	if err := e.pool.QueryRow(context.Background(), `SELECT profile FROM merchants WHERE id = $1`, id).Scan(&sealed); err != nil ||
		strings.Contains(string(sealed), "ada@bakery") || strings.Contains(string(sealed), "7946") {
		t.Fatalf("the profile is not sealed at rest (%v)", err)
	}

	// KYC through Stripe: some details, then Stripe asks for more (a fresh link), then done.
	sb := e.stack.Sandbox
	for _, step := range []string{stripesandbox.OnboardingPartial, stripesandbox.OnboardingNewRequirement} {
		if err := sb.CompleteOnboarding(acct, step); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 15*time.Second, func() error {
		r := e.call(t, &e.staff, "GET", "/v1/merchants/"+id, "", nil)
		if links, _ := r.Body["links_issued"].(float64); links < 2 {
			return fmt.Errorf("waiting for a fresh link: %s", r.Raw)
		}
		return nil
	})
	if r := e.call(t, &e.reviewer, "POST", "/v1/admin/merchants/"+id+"/approve", "", nil); r.Status != http.StatusConflict {
		t.Fatalf("approval before KYC: %d %s", r.Status, r.Raw)
	}
	if r := e.call(t, &e.staff, "POST", "/v1/admin/merchants/"+id+"/retry", "", nil); r.Status != http.StatusConflict {
		t.Fatalf("a retry with no Stripe step waiting: %d %s", r.Status, r.Raw)
	}
	if err := sb.CompleteOnboarding(acct, stripesandbox.OnboardingComplete); err != nil {
		t.Fatal(err)
	}
	e.waitMerchant(t, id, schemas.MerchantPendingReview, 15*time.Second)
	if r := e.call(t, &e.a, "POST", "/v1/admin/merchants/"+id+"/approve", "", nil); r.Status != 403 {
		t.Fatalf("a merchant approving: %d", r.Status)
	}
	if r := e.call(t, &e.staff, "POST", "/v1/admin/merchants/"+id+"/approve", "", nil); r.Status != 403 || r.errorField("code") != "four_eyes_required" {
		t.Fatalf("approval by the operator who created the merchant: %d %s", r.Status, r.Raw)
	}
	approved := e.call(t, &e.reviewer, "POST", "/v1/admin/merchants/"+id+"/approve", "approve-"+id, map[string]any{"reason": "KYC reviewed"})
	if approved.Status != 200 || approved.Body["status"] != "active" || strings.Contains(string(approved.Raw), "sk_") {
		t.Fatalf("approve: %d %s; want the merchant active, and no key for the operator", approved.Status, approved.Raw)
	}
	// The key reaches the merchant's contact address, by a link that works once.
	secret := e.revealKey(t, e.keyLinkSentTo(t, "ada@bakery.example", 1))
	e.recordHistory(t, "onboarding_approved", schemas.OnboardingWorkflowID(id))
	again := e.call(t, &e.reviewer, "POST", "/v1/admin/merchants/"+id+"/approve", "approve-"+id, map[string]any{"reason": "KYC reviewed"})
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the same approval again: %d replayed=%q", again.Status, again.Header.Get("Idempotent-Replayed"))
	}
	e.expectMerchantEvents(t, id, schemas.EventMerchantOnboardingStarted, schemas.EventMerchantOnboardingLink,
		schemas.EventMerchantKYCCompleted, schemas.EventMerchantActivated)

	if again := e.call(t, nil, "POST", "/v1/key_reveals", "", map[string]any{"token": e.keyLinkSentTo(t, "ada@bakery.example", 1)}); again.Status != 404 || again.errorField("code") != "key_link_invalid" {
		t.Fatalf("the link used again: %d %s", again.Status, again.Raw)
	}
	// An operator sends a new link (the merchant lost its key): it works, the old one not.
	if r := e.call(t, &e.staff, "POST", "/v1/admin/merchants/"+id+"/key_link", "", nil); r.Status != http.StatusAccepted || strings.Contains(string(r.Raw), "klt_") {
		t.Fatalf("a new key link: %d %s", r.Status, r.Raw)
	}
	lost := merchant{ID: id, Key: secret}
	if secret = e.revealKey(t, e.keyLinkSentTo(t, "ada@bakery.example", 2)); secret == lost.Key {
		t.Fatal("the new link revealed the lost secret")
	}
	if r := e.call(t, &lost, "GET", "/v1/merchants/"+id, "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("the replaced secret still works: %d %s", r.Status, r.Raw)
	}
	if leaks := e.secretsAtRest(t); len(leaks) > 0 {
		t.Fatalf("secret keys stored in clear: %v", leaks)
	}

	// The new merchant at work, with its customer.
	m := merchant{ID: id, Key: secret}
	customer := e.call(t, &m, "POST", "/v1/customers", "cust-1", map[string]any{"email": "bob@example.com", "name": "Bob"})
	if customer.Status != 201 || customer.Body["stripe_customer"] == nil || strings.Contains(string(customer.Raw), "bob@") {
		t.Fatalf("customer: %d %s", customer.Status, customer.Raw)
	}
	paid := e.call(t, &m, "POST", "/v1/payments", "first-payment", map[string]any{"amount": 1999, "currency": "gbp",
		"payment_method": "pm_card_visa", "customer": customer.Body["id"]})
	if paid.Status != http.StatusCreated || paid.Body["status"] != "succeeded" || paid.Body["customer"] != customer.Body["id"] {
		t.Fatalf("first payment: %d %s", paid.Status, paid.Raw)
	}
	payment := paid.Body["id"].(string)
	if r := e.call(t, &m, "GET", "/v1/merchants/"+id, "", nil); r.Status != 200 || r.Body["status"] != "active" {
		t.Fatalf("the merchant reading itself: %d %s", r.Status, r.Raw)
	}

	// Another merchant can neither see nor touch any of it, through any route.
	for _, probe := range []struct{ method, path string }{
		{"GET", "/v1/payments/" + payment}, {"GET", "/v1/payments/" + payment + "/refunds"},
		{"POST", "/v1/payments/" + payment + "/capture"}, {"POST", "/v1/payments/" + payment + "/cancel"},
		{"GET", "/v1/customers/" + customer.Body["id"].(string)}, {"GET", "/v1/merchants/" + id},
	} {
		if r := e.call(t, &e.b, probe.method, probe.path, "", nil); r.Status != 404 {
			t.Errorf("%s %s as another merchant: %d %s", probe.method, probe.path, r.Status, r.Raw)
		}
	}
	if r := e.call(t, &e.b, "POST", "/v1/refunds", "steal", map[string]any{"payment": payment}); r.Status != 404 {
		t.Errorf("refunding another merchant's payment: %d %s", r.Status, r.Raw)
	}

	entries, err := audit.List(context.Background(), e.pool, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	approvals, reveals := 0, 0
	for _, a := range entries {
		switch {
		case a.Action == "merchant.approve" && a.Resource == id:
			approvals++
		case a.Action == "api_key.reveal" && a.Outcome == audit.Success && a.Details["merchant"] == id:
			reveals++
		}
	}
	if _, err := audit.Verify(e.auditKeys, nil, entries); approvals != 1 || reveals != 2 || err != nil {
		t.Errorf("%d approvals and %d key reveals audited; chain: %v", approvals, reveals, err)
	}
}

// A prospective merchant signs up with an invitation, then never finishes KYC: reminders,
// then expiry; the whole onboarding fits in a short history.
func TestInvitedOnboardingExpires(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	adminKey, _, err := merchants.IssueStaffKey(context.Background(), e.pool, "e2e admin", time.Hour, merchants.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	admin := merchant{Key: adminKey}
	invite := e.call(t, &admin, "POST", "/v1/admin/invites", "", nil)
	token, _ := invite.Body["token"].(string)
	if invite.Status != 201 || token == "" {
		t.Fatalf("invite: %d %s", invite.Status, invite.Raw)
	}
	signUp := func(key string) response {
		req, _ := http.NewRequest("POST", e.apiURL+"/v1/merchants", strings.NewReader(
			`{"legal_name":"Invited SARL","country":"FR","contact_email":"x@invited.example","contact_phone":"+33 1 23 45 67 89","business_type":"company"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Durapay-Invite", token)
		return do(t, req)
	}
	created := signUp("invited-1")
	if created.Status != http.StatusCreated {
		t.Fatalf("sign-up with an invitation: %d %s", created.Status, created.Raw)
	}
	if r := signUp("invited-2"); r.Status != http.StatusForbidden {
		t.Fatalf("the invitation used twice: %d %s", r.Status, r.Raw)
	}
	id := created.Body["merchant"].(string)
	e.waitMerchant(t, id, schemas.MerchantExpired, onboardingExpiry+20*time.Second)
	e.expectMerchantEvents(t, id, schemas.EventMerchantOnboardingStarted, schemas.EventMerchantReminder, schemas.EventMerchantReminder,
		schemas.EventMerchantReminder, schemas.EventMerchantExpired)
	e.recordHistory(t, "onboarding_expired", schemas.OnboardingWorkflowID(id))
	events := 0
	it := e.temporal.GetWorkflowHistory(context.Background(), schemas.OnboardingWorkflowID(id), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			t.Fatal(err)
		}
		events++
	}
	t.Logf("an onboarding with 3 reminders that expires: %d history events (Temporal's limit is 51,200)", events)
	if events > 200 {
		t.Errorf("%d history events", events)
	}
}

func (e *stackEnv) expectMerchantEvents(t *testing.T, merchantID string, want ...string) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		var got []string
		for _, ev := range e.topicEvents(t, schemas.TopicMerchants, merchantID) {
			got = append(got, ev.Type)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("events of %s: %v, want %v", merchantID, got, want)
		}
		return nil
	})
}

// A Stripe step that cannot succeed by retrying (an idempotency error on the KYC link)
// parks the onboarding: the answer and the merchant show why, approval is refused, and an
// operator's retry sends the link. Not parallel: the fault would hit other onboardings.
func TestOnboardingParksUntilRetried(t *testing.T) {
	e := requireEnv(t)
	if err := e.stack.Sandbox.InjectFault(stripesandbox.Fault{Method: "POST", PathPrefix: "/v1/account_links",
		Mode: stripesandbox.FaultIdempotencyError, Times: 1}); err != nil {
		t.Fatal(err)
	}
	created := e.call(t, &e.staff, "POST", "/v1/merchants", "parked-"+t.Name(), map[string]any{
		"legal_name": "Parked Ltd", "country": "GB", "contact_email": "ops@parked.example",
		"contact_phone": "+44 20 7946 0001", "business_type": "company"})
	attention, _ := created.Body["attention"].(map[string]any)
	if created.Status != http.StatusCreated || attention["step"] != "create_account_link" || attention["error_type"] != "StripeIdempotencyError" {
		t.Fatalf("create: %d %s; want it parked on the link", created.Status, created.Raw)
	}
	id := created.Body["merchant"].(string)
	if r := e.call(t, &e.staff, "GET", "/v1/merchants/"+id, "", nil); r.Body["attention"] == nil {
		t.Errorf("the merchant does not show why it waits: %s", r.Raw)
	}
	if r := e.call(t, &e.reviewer, "POST", "/v1/admin/merchants/"+id+"/approve", "", nil); r.Status != http.StatusConflict {
		t.Errorf("approval while parked: %d %s", r.Status, r.Raw)
	}
	if r := e.call(t, &e.staff, "POST", "/v1/admin/merchants/"+id+"/retry", "retry-"+id, map[string]any{"reason": "Stripe incident over"}); r.Status != http.StatusOK {
		t.Fatalf("retry: %d %s", r.Status, r.Raw)
	}
	eventually(t, 15*time.Second, func() error {
		r := e.call(t, &e.staff, "GET", "/v1/merchants/"+id, "", nil)
		if r.Body["links_issued"] != float64(1) || r.Body["attention"] != nil {
			return fmt.Errorf("after the retry: %s", r.Raw)
		}
		return nil
	})
	if r := e.call(t, &e.staff, "POST", "/v1/admin/merchants/"+id+"/reject", "reject-"+id, map[string]any{"reason": "test over"}); r.Status != http.StatusOK {
		t.Fatalf("reject: %d %s", r.Status, r.Raw)
	}
	e.recordHistory(t, "onboarding_parked_retried", schemas.OnboardingWorkflowID(id))
}

var keyTokenPattern = regexp.MustCompile(merchants.KeyTokenPrefix + `[A-Za-z0-9]+`)

// keyLinkSentTo waits for the nth key link emailed to the address and returns its token.
func (e *stackEnv) keyLinkSentTo(t *testing.T, to string, nth int) string {
	t.Helper()
	var token string
	eventually(t, 20*time.Second, func() error {
		var links []string
		for _, m := range e.emailsTo(t, to) {
			if strings.Contains(m.Subject, "secret key") {
				links = append(links, keyTokenPattern.FindString(m.Text))
			}
		}
		if len(links) < nth {
			return fmt.Errorf("%d key links emailed to %s, waiting for %d", len(links), to, nth)
		}
		token = links[nth-1]
		return nil
	})
	return token
}

// revealKey spends a key link's token and returns the secret key it reveals.
func (e *stackEnv) revealKey(t *testing.T, token string) string {
	t.Helper()
	r := e.call(t, nil, "POST", "/v1/key_reveals", "", map[string]any{"token": token})
	secret, _ := r.Body["secret"].(string)
	if r.Status != http.StatusCreated || !strings.HasPrefix(secret, "sk_test_") {
		t.Fatalf("reveal the key: %d %s", r.Status, r.Raw)
	}
	return secret
}

// secretPattern matches a whole API key secret (sk_test_, rk_live_, sk_staff_ and a random
// part), not the recognisable prefixes that lists show.
var secretPattern = `(sk|rk)_(test|live|staff)_[A-Za-z0-9]{20,}`

// secretsAtRest scans every text-like column of every table for a secret API key and names
// the columns that hold one.
func (e *stackEnv) secretsAtRest(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'ARRAY', 'bytea')`)
	if err != nil {
		t.Fatal(err)
	}
	columns, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([3]string, error) {
		var c [3]string
		return c, r.Scan(&c[0], &c[1], &c[2])
	})
	if err != nil {
		t.Fatal(err)
	}
	var leaks []string
	for _, c := range columns {
		var n int
		text := pgx.Identifier{c[1]}.Sanitize() + "::text"
		if c[2] == "bytea" { // the bytes as they are, not their hex
			text = "encode(" + pgx.Identifier{c[1]}.Sanitize() + ", 'escape')"
		}
		q := fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s ~ '%s'`, pgx.Identifier{c[0]}.Sanitize(), text, secretPattern)
		if err := e.pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("scan %s.%s: %v", c[0], c[1], err)
		}
		if n > 0 {
			leaks = append(leaks, fmt.Sprintf("%s.%s (%d rows)", c[0], c[1], n))
		}
	}
	if len(columns) < 50 {
		t.Fatalf("scanned only %d columns: the query missed tables", len(columns))
	}
	return leaks
}
