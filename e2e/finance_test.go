package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/domain/audit/audittest"
	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/schemas"
)

// runFinance runs a finance workflow for a day and waits for it.
func (e *stackEnv) runFinance(t *testing.T, workflow, day string, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run, err := e.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: fmt.Sprintf("%s-%s-%d", workflow, day, time.Now().UnixNano()), TaskQueue: schemas.TaskQueueFinance,
	}, workflow, schemas.FinanceDayInput{Day: day})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, result); err != nil {
		t.Fatalf("%s for %s: %v", workflow, day, err)
	}
}

// The acceptance of finance: three payments, two partial refunds and one full refund; then
// balances, timeline, the CSV report and reconciliation agree to the cent with figures
// computed here, independently, from the platform's fee plans (1.5 % + 0.25 USD/EUR,
// rounded half away from zero).
func TestFinanceAgreesToTheCent(t *testing.T) {
	e := requireEnv(t)
	ctx := context.Background()
	m := merchant{ID: merchants.NewID()}
	if err := merchants.Create(ctx, e.pool, merchants.Merchant{ID: m.ID, Name: "Finance e2e"}); err != nil {
		t.Fatal(err)
	}
	var err error
	if m.Key, _, err = merchants.IssueSecretKey(ctx, e.pool, m.ID, merchants.ModeTest); err != nil {
		t.Fatal(err)
	}
	finance := merchant{}
	if finance.Key, _, err = merchants.IssueStaffKey(ctx, e.pool, "e2e finance", time.Hour, merchants.RoleFinance); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Format(time.DateOnly)

	p1 := e.payFor(t, &m, "fin-1", 5000, "usd", "pm_card_visa")
	p2 := e.payFor(t, &m, "fin-2", 2500, "usd", "pm_card_mastercard")
	p3 := e.payFor(t, &m, "fin-3", 1234, "eur", "pm_card_visa")
	for _, rf := range []struct {
		key, payment string
		amount       int64
	}{{"fin-r1", p1, 1000}, {"fin-r2", p2, 300}, {"fin-r3", p3, 0}} {
		body := map[string]any{"payment": rf.payment}
		if rf.amount > 0 {
			body["amount"] = rf.amount
		}
		if r := e.call(t, &m, "POST", "/v1/refunds", rf.key, body); r.Status != http.StatusCreated || r.Body["status"] != "succeeded" {
			t.Fatalf("refund %s: %d %s", rf.key, r.Status, r.Raw)
		}
	}
	// Independently: fees 5000 -> 75 + 25, 2500 -> 37.5 ~ 38 + 25, 1234 -> 18.51 ~ 19 + 25.
	type figures struct{ captured, fees, refunds, net int64 }
	want := map[string]figures{
		"usd": {captured: 7500, fees: 100 + 63, refunds: 1300, net: 7500 - 163 - 1300},
		"eur": {captured: 1234, fees: 44, refunds: 1234, net: 1234 - 44 - 1234},
	}

	t.Run("balances from the ledger", func(t *testing.T) {
		r := e.call(t, &finance, "GET", "/v1/finance/balances?merchant="+m.ID, "", nil)
		data, _ := r.Body["data"].([]any)
		if r.Status != 200 || r.Body["ledger_balanced"] != true || len(data) != 2 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		for _, d := range data {
			s := d.(map[string]any)
			w := want[s["currency"].(string)]
			got := figures{int64(s["captured"].(float64)), int64(s["fees"].(float64)), int64(s["refunds"].(float64)), int64(s["net"].(float64))}
			if got != w {
				t.Errorf("%s: %+v, want %+v", s["currency"], got, w)
			}
		}
		before := e.call(t, &finance, "GET", "/v1/finance/balances?merchant="+m.ID+"&as_of=2020-01-01", "", nil)
		if data, _ := before.Body["data"].([]any); len(data) != 0 {
			t.Errorf("balances as of 2020: %s", before.Raw)
		}
	})

	t.Run("ledger transactions", func(t *testing.T) {
		r := e.call(t, &finance, "GET", "/v1/finance/ledger/transactions?merchant="+m.ID+"&limit=100", "", nil)
		data, _ := r.Body["data"].([]any)
		kinds := map[string]int{}
		for _, d := range data {
			kinds[d.(map[string]any)["kind"].(string)]++
		}
		if kinds["payment_capture"] != 3 || kinds["payment_fee"] != 3 || kinds["refund"] != 3 || len(data) != 9 {
			t.Fatalf("transactions by kind %v (%d)", kinds, len(data))
		}
		page := e.call(t, &finance, "GET", "/v1/finance/ledger/transactions?merchant="+m.ID+"&limit=4", "", nil)
		first, _ := page.Body["data"].([]any)
		last := first[len(first)-1].(map[string]any)["id"].(string)
		rest := e.call(t, &finance, "GET", "/v1/finance/ledger/transactions?merchant="+m.ID+"&limit=100&starting_after="+last, "", nil)
		if more, _ := rest.Body["data"].([]any); page.Body["has_more"] != true || len(first)+len(more) != 9 {
			t.Fatalf("pages of 4 then the rest: %d + %d", len(first), len(more))
		}
	})

	t.Run("payments from Temporal visibility", func(t *testing.T) {
		eventually(t, 15*time.Second, func() error {
			r := e.call(t, &finance, "GET", "/v1/finance/payments?merchant="+m.ID+"&currency=usd&min_amount=2500&limit=1", "", nil)
			data, _ := r.Body["data"].([]any)
			if r.Status != 200 || len(data) != 1 || r.Body["next_page_token"] == nil {
				return fmt.Errorf("first page: %d %s", r.Status, r.Raw)
			}
			next := e.call(t, &finance, "GET", "/v1/finance/payments?merchant="+m.ID+"&currency=usd&min_amount=2500&limit=1&page_token="+
				r.Body["next_page_token"].(string), "", nil)
			more, _ := next.Body["data"].([]any)
			if len(more) != 1 || more[0].(map[string]any)["id"] == data[0].(map[string]any)["id"] {
				return fmt.Errorf("second page: %s", next.Raw)
			}
			return nil
		})
		if r := e.call(t, &finance, "GET", "/v1/finance/payments?merchant=mer_x'%20OR%20true", "", nil); r.Status != 400 {
			t.Errorf("a merchant filter that is no merchant ID: %d", r.Status)
		}
	})

	t.Run("timeline", func(t *testing.T) {
		r := e.call(t, &finance, "GET", "/v1/finance/payments/"+p1+"/timeline", "", nil)
		entries, _ := r.Body["entries"].([]any)
		if r.Status != 200 || len(entries) < 5 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
		text := strings.ToLower(string(r.Raw))
		for _, want := range []string{"50.00 usd", "10.00 usd", "succeeded", "refund"} {
			if !strings.Contains(text, want) {
				t.Errorf("timeline lacks %q", want)
			}
		}
	})

	t.Run("daily settlement report", func(t *testing.T) {
		var first, second schemas.DailyReportResult
		e.runFinance(t, schemas.DailyReportWorkflowName, day, &first)
		e.runFinance(t, schemas.DailyReportWorkflowName, day, &second)
		mine := func(res schemas.DailyReportResult) schemas.ReportReady {
			for _, r := range res.Reports {
				if r.Merchant == m.ID {
					return r
				}
			}
			t.Fatalf("no report for %s in %+v", m.ID, res)
			return schemas.ReportReady{}
		}
		a, b := mine(first), mine(second)
		if a.Key != b.Key || a.SHA256 != b.SHA256 || a.Rows != 9 {
			t.Fatalf("runs wrote %+v then %+v: want the same key and bytes, 9 rows", a, b)
		}
		list := e.call(t, &finance, "GET", "/v1/finance/reports?merchant="+m.ID+"&from="+day+"&to="+day, "", nil)
		data, _ := list.Body["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("reports: %s", list.Raw)
		}
		resp, err := http.Get(data[0].(map[string]any)["download_url"].(string))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download: %d %v\n%s", resp.StatusCode, err, raw)
		}
		totals := map[string][]string{}
		for _, row := range rows {
			if row[1] == "total" {
				totals[row[5]] = row[6:]
			}
		}
		wantTotals := map[string][]string{
			"eur": {"0.00", "0.44", "-0.44"},  // 12.34 captured, 12.34 refunded; fee 0.44
			"usd": {"62.00", "1.63", "60.37"}, // 75.00 - 13.00 refunded; fees 1.00 + 0.63
		}
		if fmt.Sprint(totals) != fmt.Sprint(wantTotals) {
			t.Fatalf("report totals %v, want %v\n%s", totals, wantTotals, raw)
		}
		e.expectFinanceEvent(t, schemas.EventReportReady, m.ID)
	})

	t.Run("durapay-ctl against the finance API", func(t *testing.T) {
		ctl := func(args ...string) []byte {
			t.Helper()
			cmd := exec.Command(filepath.Join(e.binDir, "durapay-ctl"), append([]string{"--json", "--progress", "never"}, args...)...)
			cmd.Env = append(os.Environ(), "DURAPAY_API="+e.apiURL, "DURAPAY_KEY="+finance.Key)
			cmd.Dir = t.TempDir()
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("durapay-ctl %v: %v\n%s", args, err, out)
			}
			return out
		}
		var found []map[string]any
		if err := json.Unmarshal(ctl("payments", "find", "--merchant", m.ID, "--all"), &found); err != nil || len(found) != 3 {
			t.Fatalf("payments find: %d payments (%v)", len(found), err)
		}
		var download map[string]any
		if err := json.Unmarshal(ctl("reports", "download", "--merchant", m.ID, "--day", day), &download); err != nil {
			t.Fatal(err)
		}
		if download["rows"] != 9.0 || download["path"] == nil {
			t.Fatalf("reports download: %v", download)
		}
	})

	t.Run("reconciliation with Stripe", func(t *testing.T) {
		var res schemas.ReconciliationResult
		e.runFinance(t, schemas.ReconciliationWorkflowName, day, &res)
		if res.StripeCount == 0 || res.LedgerCount == 0 {
			t.Fatalf("reconciled %d Stripe and %d ledger movements", res.StripeCount, res.LedgerCount)
		}
		r := e.call(t, &finance, "GET", "/v1/finance/reconciliation?from="+day+"&to="+day, "", nil)
		data, _ := r.Body["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("%s", r.Raw)
		}
		if ms := data[0].(map[string]any)["mismatches"].([]any); len(ms) != 0 {
			t.Fatalf("ledger and Stripe disagree: %v", ms)
		}

		// Stripe's fee on each charge is booked, once, as its balance transaction states it
		// (the sandbox charges 2.9 % + 0.30), on the platform's accounts only.
		wantFees := map[string]int64{p1: stripesandbox.StripeFee(5000, "usd"), p2: stripesandbox.StripeFee(2500, "usd"), p3: stripesandbox.StripeFee(1234, "eur")}
		rows, err := e.pool.Query(ctx, `SELECT t.payment_id, p.amount FROM ledger_transactions t
			JOIN ledger_postings p ON p.transaction_id = t.id JOIN ledger_accounts a ON a.id = p.account_id
			WHERE t.kind = 'stripe_fee' AND t.merchant_id = $1 AND a.kind = 'stripe_fees' AND a.owner = 'platform'`, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		gotFees := map[string]int64{}
		for rows.Next() {
			var payment string
			var fee int64
			if err := rows.Scan(&payment, &fee); err != nil {
				t.Fatal(err)
			}
			gotFees[payment] += fee
		}
		if rows.Close(); fmt.Sprint(gotFees) != fmt.Sprint(wantFees) || res.StripeFeesBooked < len(wantFees) {
			t.Errorf("Stripe fees booked %v (run booked %d), want %v", gotFees, res.StripeFeesBooked, wantFees)
		}
		var again schemas.ReconciliationResult
		e.runFinance(t, schemas.ReconciliationWorkflowName, day, &again)
		if again.StripeFeesBooked != 0 {
			t.Errorf("a re-run booked %d fees again", again.StripeFeesBooked)
		}
		// The merchant's figures do not change: Stripe's fee is the platform's cost.
		b := e.call(t, &finance, "GET", "/v1/finance/balances?merchant="+m.ID+"&currency=usd", "", nil)
		if d, _ := b.Body["data"].([]any); b.Body["ledger_balanced"] != true || len(d) != 1 || d[0].(map[string]any)["net"] != float64(want["usd"].net) {
			t.Errorf("balances after booking Stripe's fees: %s", b.Raw)
		}
		var report schemas.DailyReportResult
		e.runFinance(t, schemas.DailyReportWorkflowName, day, &report)
		for _, r := range report.Reports {
			if r.Merchant == m.ID && r.Rows != 9 {
				t.Errorf("the report now has %d rows, want the same 9", r.Rows)
			}
		}
	})
}

// expectFinanceEvent waits for an event of this type about key on the finance topic.
func (e *stackEnv) expectFinanceEvent(t *testing.T, typ, key string) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		for _, ev := range e.topicEvents(t, schemas.TopicFinance, key) {
			if ev.Type == typ {
				return nil
			}
		}
		return fmt.Errorf("no %s about %s on %s", typ, key, schemas.TopicFinance)
	})
}

// durapay-ctl audit verify checks the hash chain on the operator's machine, and finds a row
// altered in the database behind the application's back, even with every later hash
// recomputed. (Not parallel: it breaks the chain for a moment, and mends it.)
func TestAuditVerifyFindsTampering(t *testing.T) {
	e := requireEnv(t)
	ctx := context.Background()
	adminKey := e.auditedAdmin(t)
	if out, err := e.auditVerify(adminKey); err != nil || !strings.Contains(out, "intact") {
		t.Fatalf("an untouched log: %v\n%s", err, out)
	}
	var seq int64
	var original []byte
	if err := e.pool.QueryRow(ctx, `SELECT seq, details FROM audit_log ORDER BY seq LIMIT 1`).Scan(&seq, &original); err != nil {
		t.Fatal(err)
	}
	tamper := func(details []byte) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`); err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = e.pool.Exec(ctx, `ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update`) }()
		if _, err := e.pool.Exec(ctx, `UPDATE audit_log SET details = $2 WHERE seq = $1`, seq, details); err != nil {
			t.Fatal(err)
		}
	}
	tamper([]byte(`{"covered":"up"}`))
	out, err := e.auditVerify(adminKey)
	tamper(original) // mended, for the other tests
	if err == nil || !strings.Contains(out, fmt.Sprintf("broken at row %d", seq)) {
		t.Fatalf("a tampered row %d: %v\n%s", seq, err, out)
	}
	if out, err := e.auditVerify(adminKey); err != nil {
		t.Fatalf("after mending: %v\n%s", err, out)
	}

	// The database's owner edits the row and recomputes every later hash as the unkeyed
	// chain did: the operator's check, holding the audit key, still names the row.
	out, err = e.auditVerifyTampered(t, adminKey, func() (func(context.Context) error, error) {
		return audittest.Rewrite(ctx, e.pool, audittest.Forgery{Seq: seq, Details: `{"covered":"up"}`})
	})
	if err == nil || !strings.Contains(out, fmt.Sprintf("broken at row %d", seq)) {
		t.Fatalf("row %d rewritten and the chain recomputed: %v\n%s", seq, err, out)
	}
}

// The schedule anchors the audit log's last row in S3, and durapay-ctl audit verify holds
// the chain to its anchors: rewritten before an anchor, even with the audit key, or cut
// short of one, it is reported. (Not parallel, as above.)
func TestAuditAnchorsPinTheChain(t *testing.T) {
	e := requireEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adminKey := e.auditedAdmin(t)
	var head int64
	if err := e.pool.QueryRow(ctx, `SELECT max(seq) FROM audit_log`).Scan(&head); err != nil {
		t.Fatal(err)
	}
	schedule := e.temporal.ScheduleClient().GetHandle(ctx, schemas.ScheduleAuditAnchor)
	if err := schedule.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var anchored int64
	eventually(t, 30*time.Second, func() error {
		r := e.call(t, &merchant{Key: adminKey}, "GET", "/v1/admin/audit/anchors?limit=1000", "", nil)
		var list struct {
			Data []struct {
				Seq int64 `json:"seq"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.Raw, &list); r.Status != http.StatusOK || err != nil {
			return fmt.Errorf("list anchors: %d %s", r.Status, r.Raw)
		}
		for _, a := range list.Data {
			anchored = max(anchored, a.Seq)
		}
		if anchored < head {
			return fmt.Errorf("anchors reach row %d, the log row %d", anchored, head)
		}
		return nil
	})
	if desc, err := schedule.Describe(ctx); err == nil && len(desc.Info.RecentActions) > 0 {
		e.recordHistory(t, "audit_anchor", desc.Info.RecentActions[len(desc.Info.RecentActions)-1].StartWorkflowResult.WorkflowID)
	}
	if out, err := e.auditVerify(adminKey); err != nil || !strings.Contains(out, "Anchors matched") {
		t.Fatalf("an anchored log: %v\n%s", err, out)
	}

	for name, c := range map[string]struct {
		tamper func() (func(context.Context) error, error)
		want   string
	}{
		"rewritten with the audit key": {func() (func(context.Context) error, error) {
			return audittest.Rewrite(ctx, e.pool, audittest.Forgery{Seq: 1, Details: `{"covered":"up"}`, Keys: e.auditKeys})
		}, "it was rewritten after anchor"},
		"cut short": {func() (func(context.Context) error, error) {
			return audittest.Truncate(ctx, e.pool, 1)
		}, "broken at row 2: the chain ends at row 1"},
	} {
		if out, err := e.auditVerifyTampered(t, adminKey, c.tamper); err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: %v\n%s\nwant %q", name, err, out, c.want)
		}
	}
}

// auditedAdmin issues an admin key and audits three actions with it, written at once
// (failed authentications are tallied, and written a minute later).
func (e *stackEnv) auditedAdmin(t *testing.T) string {
	t.Helper()
	adminKey, _, err := merchants.IssueStaffKey(context.Background(), e.pool, "auditor", time.Hour, merchants.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if r := e.call(t, &merchant{Key: adminKey}, "POST", "/v1/admin/invites", "", nil); r.Status != http.StatusCreated {
			t.Fatalf("create an invite: %d %s", r.Status, r.Raw)
		}
	}
	return adminKey
}

// auditVerify runs durapay-ctl audit verify as an admin holding the audit keys.
func (e *stackEnv) auditVerify(adminKey string) (string, error) {
	cmd := exec.Command(filepath.Join(e.binDir, "durapay-ctl"), "audit", "verify")
	cmd.Env = append(os.Environ(), "DURAPAY_API="+e.apiURL, "DURAPAY_KEY="+adminKey, "DURAPAY_AUDIT_KEYS="+e.auditKeysSpec)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// auditVerifyTampered verifies the audit log while tamper's change holds, then restores it
// and checks that the log verifies again, for the other tests.
func (e *stackEnv) auditVerifyTampered(t *testing.T, adminKey string, tamper func() (func(context.Context) error, error)) (string, error) {
	t.Helper()
	restore, err := tamper()
	if err != nil {
		t.Fatal(err)
	}
	out, verifyErr := e.auditVerify(adminKey)
	if err := restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out, err := e.auditVerify(adminKey); err != nil {
		t.Fatalf("after restoring: %v\n%s", err, out)
	}
	return out, verifyErr
}

// Staff keys, the break-glass path beside sign-in: an admin issues one for a while with
// durapay-ctl (audited), it works, and revoking it ends it at once.
func TestStaffKeysThroughTheCLI(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	adminKey, _, err := merchants.IssueStaffKey(context.Background(), e.pool, "e2e admin", time.Hour, merchants.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.ctl(t, adminKey, "staff-keys", "issue", "--name", "on-call "+t.Name(), "--roles", "operator", "--expires-in", "30m", "--json")
	if err != nil {
		t.Fatalf("issue: %v\n%s", err, out)
	}
	var issued struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(out), &issued); err != nil || !strings.HasPrefix(issued.Secret, "sk_staff_") {
		t.Fatalf("issued %s (%v)", out, err)
	}
	oncall := merchant{Key: issued.Secret}
	if r := e.call(t, &oncall, "GET", "/v1/admin/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaa", "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("the issued key at work: %d %s", r.Status, r.Raw)
	}
	if out, err := e.ctl(t, adminKey, "staff-keys", "list"); err != nil || !strings.Contains(out, issued.ID) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := e.ctl(t, adminKey, "staff-keys", "revoke", issued.ID); err != nil {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	if r := e.call(t, &oncall, "GET", "/v1/admin/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaa", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("the revoked key: %d %s", r.Status, r.Raw)
	}
}
