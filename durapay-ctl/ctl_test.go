package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/durapay/durapay/internal/platform/eventbus"
)

const (
	staffKey     = "sk_test_finance_staff"
	forbiddenKey = "sk_test_merchant_key"
	reportBody   = "created,type,payment,refund,stripe_object,currency,gross,fee,net\n2026-11-29T10:00:00Z,payment,pay_1,,pi_1,usd,5000,175,4825\n"
)

// fakeAPI serves canned answers for the finance API and a report object store.
type fakeAPI struct {
	*httptest.Server
	mu      sync.Mutex
	queries []url.Values // of /v1/finance/payments, in order
	// downloadAuth is the Authorization header the object store was sent ("" is right).
	downloadAuth atomic.Value
	unavailable  atomic.Int32 // answer this many payment searches with 503 first
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	mux := http.NewServeMux()
	finance := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			key, pass, ok := r.BasicAuth()
			switch {
			case !ok || pass != "":
				apiError(w, 401, "authentication_required", "No API key provided.")
			case key == forbiddenKey:
				apiError(w, 403, "permission_denied", "This API key is not allowed to use this route.")
			case key != staffKey:
				apiError(w, 401, "api_key_invalid", "Invalid API key.")
			default:
				h(w, r)
			}
		}
	}
	mux.HandleFunc("GET /v1/finance/payments", finance(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.Query())
		f.mu.Unlock()
		if f.unavailable.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "0")
			apiError(w, 503, "service_unavailable", "Payment search is temporarily unavailable.")
			return
		}
		switch r.URL.Query().Get("page_token") {
		case "":
			writeJSON(w, `{"object":"list","query":"WorkflowType = 'PaymentWorkflow'","data":[
				{"id":"pay_1","merchant":"mer_acme","status":"succeeded","amount":5000,"currency":"usd","stripe_payment_intent":"pi_1","workflow_id":"payment/mer_acme/pay_1","workflow_status":"completed","created":"2026-11-29T10:00:00Z"},
				{"id":"pay_2","merchant":"mer_acme","status":"needs_attention","amount":1999,"currency":"eur","workflow_id":"payment/mer_acme/pay_2","workflow_status":"running","created":"2026-11-29T11:30:00Z"}],
				"next_page_token":"cGFnZTI"}`)
		case "cGFnZTI":
			writeJSON(w, `{"object":"list","data":[
				{"id":"pay_3","merchant":"mer_tokyo","status":"succeeded","amount":500,"currency":"jpy","stripe_payment_intent":"pi_3","workflow_id":"payment/mer_tokyo/pay_3","workflow_status":"completed","created":"2026-11-29T12:00:00Z"}]}`)
		default:
			apiError(w, 400, "parameter_invalid", "page_token is not one this API gave out.")
		}
	}))
	mux.HandleFunc("GET /v1/finance/payments/{id}/timeline", finance(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "pay_1" {
			apiError(w, 404, "resource_missing", "No such payment.")
			return
		}
		writeJSON(w, `{"object":"timeline",
			"payment":{"id":"pay_1","object":"payment","merchant":"mer_acme","amount":5000,"currency":"usd","status":"succeeded","created":1795946400},
			"entries":[
				{"time":"2026-11-29T10:00:00.120Z","workflow":"payment/mer_acme/pay_1","what":"payment started: 50.00 USD, pm_card_visa, capture automatic","actor":"merchant","detail":"payment pay_1 of merchant mer_acme"},
				{"time":"2026-11-29T10:00:01.500Z","workflow":"payment/mer_acme/pay_1","what":"Stripe: stripe.CreatePaymentIntent failed","attempt":2,"actor":"system","detail":"`+strings.Repeat("connection reset by peer ", 10)+`"},
				{"time":"2026-11-29T10:05:00Z","workflow":"refund/mer_acme/re_9","what":"refund requested: 10.00 USD of payment pay_1","actor":"operator staff:key_x (alice)","detail":"evil\u001b[31m reason"}]}`)
	}))
	mux.HandleFunc("GET /v1/finance/reports", finance(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		day := q.Get("from")
		if q.Get("to") != day {
			apiError(w, 400, "parameter_invalid", "want one day")
			return
		}
		sum := sha256.Sum256([]byte(reportBody))
		hash := hex.EncodeToString(sum[:])
		switch day {
		case "2026-11-29": // matches
		case "2026-11-30": // a report whose object is not what was recorded
			hash = strings.Repeat("0", 64)
		default:
			writeJSON(w, `{"object":"list","data":[]}`)
			return
		}
		writeJSON(w, fmt.Sprintf(`{"object":"list","data":[{"merchant":%q,"day":%q,"key":"reports/%s/%s.csv","sha256":%q,"size_bytes":%d,"rows":1,
			"created":"2026-11-30T00:10:00Z","download_url":"%s/objects/report.csv?X-Amz-Signature=secret","download_url_expires":"2026-11-30T09:15:00Z"}]}`,
			q.Get("merchant"), day, q.Get("merchant"), day, hash, len(reportBody), f.URL))
	}))
	mux.HandleFunc("GET /objects/report.csv", func(w http.ResponseWriter, r *http.Request) {
		f.downloadAuth.Store(r.Header.Get("Authorization"))
		w.Header().Set("Content-Length", strconv.Itoa(len(reportBody)))
		w.Write([]byte(reportBody))
	})
	mux.HandleFunc("GET /v1/finance/balances", finance(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"object":"list","ledger_balanced":true,"data":[
			{"merchant":"mer_acme","currency":"usd","captured":500000,"fees":14800,"refunds":1000,"net":484200,"accounts":{"merchant_payable":-484200}},
			{"merchant":"mer_tokyo","currency":"jpy","captured":500,"fees":18,"refunds":0,"net":482,"accounts":{"merchant_payable":-482}}]}`)
	}))
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(body))
}

func apiError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
		"type": "invalid_request_error", "code": code, "message": message, "request_id": "req_test123"}})
}

type result struct {
	code           int
	stdout, stderr string
}

// ctl runs durapay-ctl in-process against api with env (DURAPAY_API and DURAPAY_KEY set to
// api and the staff key unless env says otherwise).
func ctl(t *testing.T, api *fakeAPI, env map[string]string, args ...string) result {
	t.Helper()
	vars := map[string]string{"DURAPAY_KEY": staffKey}
	if api != nil {
		vars["DURAPAY_API"] = api.URL
	}
	for k, v := range env {
		vars[k] = v
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr, func(k string) string { return vars[k] })
	r := result{code, stdout.String(), stderr.String()}
	if strings.Contains(r.stdout+r.stderr, staffKey) {
		t.Errorf("the API key was printed:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	return r
}

func (r result) must(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// rowWith returns the first line of out that contains every one of parts.
func rowWith(out string, parts ...string) string {
	for _, line := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return line
		}
	}
	return ""
}

func TestPaymentsFindTable(t *testing.T) {
	api := newFakeAPI(t)
	r := ctl(t, api, nil, "payments", "find", "--merchant", "mer_acme", "--status", "succeeded", "--currency", "usd",
		"--from", "2026-11-01", "--to", "2026-12-01", "--min-amount", "0", "--max-amount", "10000", "--limit", "2").must(t, 0)

	if !strings.HasPrefix(r.stdout, "ID") || rowWith(r.stdout, "ID", "MERCHANT", "STATUS", "AMOUNT", "CREATED") == "" {
		t.Errorf("no header:\n%s", r.stdout)
	}
	if rowWith(r.stdout, "pay_1", "mer_acme", "succeeded", "50.00 USD", "2026-11-29T10:00:00Z") == "" {
		t.Errorf("no row for pay_1 in major units:\n%s", r.stdout)
	}
	if rowWith(r.stdout, "pay_2", "needs_attention", "19.99 EUR") == "" {
		t.Errorf("no row for pay_2:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "pay_3") {
		t.Errorf("without --all, the second page was fetched:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "--page-token cGFnZTI") {
		t.Errorf("stderr does not say how to get the next page: %q", r.stderr)
	}
	want := url.Values{"merchant": {"mer_acme"}, "status": {"succeeded"}, "currency": {"usd"}, "from": {"2026-11-01"},
		"to": {"2026-12-01"}, "min_amount": {"0"}, "max_amount": {"10000"}, "limit": {"2"}}
	if got := api.queries[0]; got.Encode() != want.Encode() {
		t.Errorf("query %s, want %s", got.Encode(), want.Encode())
	}
}

func TestPaymentsFindAll(t *testing.T) {
	api := newFakeAPI(t)
	r := ctl(t, api, nil, "payments", "find", "--all").must(t, 0)
	for _, id := range []string{"pay_1", "pay_2", "pay_3"} {
		if !strings.Contains(r.stdout, id) {
			t.Errorf("no %s:\n%s", id, r.stdout)
		}
	}
	if rowWith(r.stdout, "pay_3", "mer_tokyo", "500 JPY") == "" {
		t.Errorf("no JPY row in major units:\n%s", r.stdout)
	}
	if len(api.queries) != 2 || api.queries[1].Get("page_token") != "cGFnZTI" {
		t.Errorf("pages asked for: %v", api.queries)
	}
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
}

func TestPaymentsFindJSON(t *testing.T) {
	api := newFakeAPI(t)
	r := ctl(t, api, nil, "payments", "find", "--all", "--json").must(t, 0)
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if len(got) != 3 {
		t.Fatalf("%d payments, want 3: %s", len(got), r.stdout)
	}
	first := got[0]
	for k, v := range map[string]any{"id": "pay_1", "merchant": "mer_acme", "status": "succeeded", "amount": 5000.0, "currency": "usd",
		"stripe_payment_intent": "pi_1", "workflow_id": "payment/mer_acme/pay_1", "workflow_status": "completed", "created": "2026-11-29T10:00:00Z"} {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if got[2]["id"] != "pay_3" || got[2]["amount"] != 500.0 {
		t.Errorf("last payment: %v", got[2])
	}
}

func TestPaymentsFindNoneJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, `{"object":"list","data":[]}`)
	}))
	defer srv.Close()
	r := ctl(t, nil, map[string]string{"DURAPAY_API": srv.URL}, "payments", "find", "--json").must(t, 0)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("stdout %q, want []", r.stdout)
	}
}

func TestPaymentsRetriesUnavailable(t *testing.T) {
	api := newFakeAPI(t)
	api.unavailable.Store(2)
	r := ctl(t, api, nil, "payments", "find").must(t, 0)
	if !strings.Contains(r.stdout, "pay_1") || len(api.queries) != 3 {
		t.Errorf("%d calls; stdout:\n%s", len(api.queries), r.stdout)
	}
}

func TestPaymentsExport(t *testing.T) {
	api := newFakeAPI(t)
	out := filepath.Join(t.TempDir(), "payments.csv")
	r := ctl(t, api, nil, "payments", "export", "--merchant", "mer_acme", "--out", out, "--progress", "always").must(t, 0)

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"id", "merchant", "status", "amount_minor", "currency", "stripe_payment_intent", "created"},
		{"pay_1", "mer_acme", "succeeded", "5000", "usd", "pi_1", "2026-11-29T10:00:00Z"},
		{"pay_2", "mer_acme", "needs_attention", "1999", "eur", "", "2026-11-29T11:30:00Z"},
		{"pay_3", "mer_tokyo", "succeeded", "500", "jpy", "pi_3", "2026-11-29T12:00:00Z"},
	}
	if fmt.Sprint(records) != fmt.Sprint(want) {
		t.Errorf("CSV:\n%v\nwant:\n%v", records, want)
	}
	if !strings.Contains(r.stdout, "Exported 3 payments to "+out) {
		t.Errorf("stdout: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "exporting") || !strings.Contains(r.stderr, "payments") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}
	for _, q := range api.queries {
		if q.Get("merchant") != "mer_acme" || q.Get("limit") != "100" {
			t.Errorf("page asked with %s", q.Encode())
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("files left beside the export: %v", entries)
	}
}

func TestPaymentsExportFailureLeavesNoFile(t *testing.T) {
	api := newFakeAPI(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "payments.csv")
	r := ctl(t, api, map[string]string{"DURAPAY_KEY": forbiddenKey}, "payments", "export", "--out", out, "--json").must(t, 1)
	if !strings.Contains(r.stderr, "permission_denied") {
		t.Errorf("stderr: %q", r.stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed export left %v", entries)
	}
}

func TestPaymentsExportJSON(t *testing.T) {
	api := newFakeAPI(t)
	out := filepath.Join(t.TempDir(), "p.csv")
	r := ctl(t, api, nil, "payments", "export", "--out", out, "--json").must(t, 0)
	var got struct {
		Path string `json:"path"`
		Rows int    `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Path != out || got.Rows != 3 {
		t.Errorf("stdout %q (%v)", r.stdout, err)
	}
	if r.stderr != "" {
		t.Errorf("--json drew a progress bar: %q", r.stderr)
	}
}

func TestTimelineTable(t *testing.T) {
	api := newFakeAPI(t)
	r := ctl(t, api, nil, "payments", "timeline", "pay_1").must(t, 0)
	if !strings.HasPrefix(r.stdout, "Payment pay_1 of mer_acme: succeeded, 50.00 USD") {
		t.Errorf("no payment line:\n%s", r.stdout)
	}
	if rowWith(r.stdout, "TIME", "WORKFLOW", "WHAT", "ATTEMPT", "ACTOR", "DETAIL") == "" {
		t.Errorf("no header:\n%s", r.stdout)
	}
	if rowWith(r.stdout, "2026-11-29 10:00:00.120", "payment/pay_1", "payment started: 50.00 USD", "merchant") == "" {
		t.Errorf("no started row:\n%s", r.stdout)
	}
	failed := rowWith(r.stdout, "stripe.CreatePaymentIntent failed")
	if !strings.Contains(failed, " 2 ") || !strings.Contains(failed, "…") || strings.Count(failed, "connection reset") > 3 {
		t.Errorf("attempt or truncated detail missing: %q", failed)
	}
	if rowWith(r.stdout, "refund/re_9", "operator staff:key_x (alice)") == "" {
		t.Errorf("no refund row:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("an escape sequence reached the terminal:\n%q", r.stdout)
	}
}

func TestTimelineJSON(t *testing.T) {
	api := newFakeAPI(t)
	r := ctl(t, api, nil, "payments", "timeline", "pay_1", "--json").must(t, 0)
	var got struct {
		Payment map[string]any `json:"payment"`
		Entries []struct {
			Time, Workflow, What, Actor, Detail string
			Attempt                             int
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if got.Payment["id"] != "pay_1" || got.Payment["created"] != 1795946400.0 || len(got.Entries) != 3 {
		t.Fatalf("got %+v", got)
	}
	e := got.Entries[1]
	if e.Workflow != "payment/mer_acme/pay_1" || e.Attempt != 2 || e.Time != "2026-11-29T10:00:01.5Z" || !strings.HasPrefix(e.Detail, "connection reset") {
		t.Errorf("entry %+v", e)
	}
}

func TestTimelineMissing(t *testing.T) {
	api := newFakeAPI(t)
	r := ctl(t, api, nil, "payments", "timeline", "pay_nope").must(t, 1)
	if !strings.Contains(r.stderr, "resource_missing") {
		t.Errorf("stderr: %q", r.stderr)
	}
}

func TestReportsDownload(t *testing.T) {
	api := newFakeAPI(t)
	out := filepath.Join(t.TempDir(), "report.csv")
	r := ctl(t, api, nil, "reports", "download", "--merchant", "mer_acme", "--day", "2026-11-29", "--out", out, "--progress", "always").must(t, 0)
	got, err := os.ReadFile(out)
	if err != nil || string(got) != reportBody {
		t.Fatalf("file %q (%v)", got, err)
	}
	if !strings.Contains(r.stdout, "Wrote "+out) || !strings.Contains(r.stdout, "verified") {
		t.Errorf("stdout: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "downloading") || !strings.Contains(r.stderr, fmt.Sprintf("/%d B", len(reportBody))) {
		t.Errorf("no progress bar on stderr: %q", r.stderr)
	}
	if auth := api.downloadAuth.Load(); auth != "" {
		t.Errorf("the object store was sent Authorization %q", auth)
	}
}

func TestReportsDownloadDefaultNameJSON(t *testing.T) {
	api := newFakeAPI(t)
	t.Chdir(t.TempDir())
	r := ctl(t, api, nil, "reports", "download", "--merchant", "mer_acme", "--day", "2026-11-29", "--json").must(t, 0)
	if got, err := os.ReadFile("mer_acme-2026-11-29.csv"); err != nil || string(got) != reportBody {
		t.Fatalf("default file %q (%v)", got, err)
	}
	var listed map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	sum := sha256.Sum256([]byte(reportBody))
	for k, v := range map[string]any{"merchant": "mer_acme", "day": "2026-11-29", "path": "mer_acme-2026-11-29.csv",
		"sha256": hex.EncodeToString(sum[:]), "rows": 1.0, "size_bytes": float64(len(reportBody)), "key": "reports/mer_acme/2026-11-29.csv"} {
		if listed[k] != v {
			t.Errorf("%s = %v, want %v", k, listed[k], v)
		}
	}
}

func TestReportsDownloadHashMismatch(t *testing.T) {
	api := newFakeAPI(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "report.csv")
	r := ctl(t, api, nil, "reports", "download", "--merchant", "mer_acme", "--day", "2026-11-30", "--out", out).must(t, 1)
	if !strings.Contains(r.stderr, "SHA-256 mismatch") {
		t.Errorf("stderr: %q", r.stderr)
	}
	if strings.Contains(r.stderr, "secret") {
		t.Errorf("the download URL's signature was printed: %q", r.stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a report that failed its check was left: %v", entries)
	}
}

func TestReportsDownloadNoReport(t *testing.T) {
	api := newFakeAPI(t)
	r := ctl(t, api, nil, "reports", "download", "--merchant", "mer_acme", "--day", "2026-12-25", "--out", filepath.Join(t.TempDir(), "x")).must(t, 1)
	if !strings.Contains(r.stderr, "no report of mer_acme for 2026-12-25") {
		t.Errorf("stderr: %q", r.stderr)
	}
}

func TestBalances(t *testing.T) {
	api := newFakeAPI(t)
	r := ctl(t, api, nil, "balances").must(t, 0)
	if rowWith(r.stdout, "mer_acme", "5000.00 USD", "148.00 USD", "10.00 USD", "4842.00 USD") == "" {
		t.Errorf("no USD row:\n%s", r.stdout)
	}
	if rowWith(r.stdout, "mer_tokyo", "500 JPY", "18 JPY", "0 JPY", "482 JPY") == "" {
		t.Errorf("no JPY row:\n%s", r.stdout)
	}

	r = ctl(t, api, nil, "balances", "--json").must(t, 0)
	var got struct {
		Data []struct {
			Merchant string
			Net      int64
			Accounts map[string]int64
		}
		LedgerBalanced bool `json:"ledger_balanced"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || !got.LedgerBalanced || len(got.Data) != 2 ||
		got.Data[0].Net != 484200 || got.Data[0].Accounts["merchant_payable"] != -484200 {
		t.Errorf("JSON %s (%v)", r.stdout, err)
	}
}

func TestAPIErrorExitsOne(t *testing.T) {
	api := newFakeAPI(t)
	for _, args := range [][]string{
		{"payments", "find"},
		{"payments", "timeline", "pay_1"},
		{"reports", "download", "--merchant", "mer_acme", "--day", "2026-11-29", "--out", filepath.Join(t.TempDir(), "r.csv")},
		{"balances", "--json"},
	} {
		r := ctl(t, api, map[string]string{"DURAPAY_KEY": forbiddenKey}, args...).must(t, 1)
		for _, want := range []string{"permission_denied", "not allowed to use this route", "req_test123", "403"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v: stderr %q lacks %q", args, r.stderr, want)
			}
		}
		if r.stdout != "" {
			t.Errorf("%v: stdout %q", args, r.stdout)
		}
	}
}

func TestKeyFlagOverridesEnv(t *testing.T) {
	api := newFakeAPI(t)
	ctl(t, api, map[string]string{"DURAPAY_KEY": forbiddenKey}, "balances", "--key", staffKey).must(t, 0)
	ctl(t, nil, map[string]string{"DURAPAY_API": "http://127.0.0.1:1"}, "balances", "--api", api.URL).must(t, 0)
}

func TestUsageErrorsExitTwo(t *testing.T) {
	api := newFakeAPI(t)
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"DURAPAY_KEY": ""}, []string{"payments", "find"}, "DURAPAY_KEY"},
		{nil, []string{"payments", "find", "--bogus"}, "unknown flag"},
		{nil, []string{"payments", "find", "--limit", "500"}, "--limit"},
		{nil, []string{"payments", "find", "--min-amount", "-1"}, "--min-amount"},
		{nil, []string{"payments", "find", "--timeout", "soon"}, "timeout"},
		{nil, []string{"payments", "export"}, "--out"},
		{nil, []string{"payments", "timeline"}, "accepts 1 arg"},
		{nil, []string{"payments", "frobnicate"}, "unknown command"},
		{nil, []string{"payments"}, "needs a command"},
		{nil, []string{"frobnicate"}, "unknown command"},
		{nil, []string{"reports", "download", "--merchant", "mer_acme", "--day", "29/11/2026"}, "YYYY-MM-DD"},
		{nil, []string{"reports", "download", "--day", "2026-11-29"}, "--merchant"},
		{map[string]string{"DURAPAY_API": "127.0.0.1:8080"}, []string{"balances"}, "--api"},
		{map[string]string{"DURAPAY_API": "http://api.durapay.example"}, []string{"balances"}, "plain http"},
		{nil, []string{"staff-keys", "issue", "--roles", "operator"}, "--name"},
		{nil, []string{"balances", "--progress", "sometimes"}, "--progress"},
		// The audit log's hashes are keyed: without the key there is nothing to check.
		{nil, []string{"audit", "verify"}, "no audit keys: set DURAPAY_AUDIT_KEYS"},
		{map[string]string{"DURAPAY_AUDIT_KEYS": "audit1:c2VjcmV0"}, []string{"audit", "verify"}, "DURAPAY_AUDIT_KEYS: parse keyring"},
	} {
		r := ctl(t, api, c.env, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "--help") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if len(api.queries) != 0 {
		t.Errorf("usage errors called the API: %v", api.queries)
	}
}

func TestHelp(t *testing.T) {
	r := ctl(t, nil, nil, "payments", "find", "--help").must(t, 0)
	for _, want := range []string{"--merchant", "--all", "--min-amount", "--json", "--timeout", "DURAPAY_KEY"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %s:\n%s", want, r.stdout)
		}
	}
}

// Letters older than the claims' retention (or of unknown age) are refused for replay.
func TestReplayRefusesOldLetters(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	letters := []eventbus.DeadLetter{
		{Offset: 1, FailedAt: now.Add(-time.Hour).Format(time.RFC3339)},
		{Offset: 2, FailedAt: now.Add(-100 * 24 * time.Hour).Format(time.RFC3339)},
		{Offset: 3, FailedAt: ""},
	}
	if got := tooOld(letters, defaultReplayMaxAge, now); fmt.Sprint(got) != "[2 3]" {
		t.Errorf("too old: %v, want [2 3]", got)
	}
}
