package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/durapay/durapay/internal/domain/ledger"
	"github.com/durapay/durapay/internal/domain/reconcile"
	"github.com/durapay/durapay/internal/domain/refunds"
	"github.com/durapay/durapay/internal/domain/reports"
	"github.com/durapay/durapay/internal/domain/timeline"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// Finance's API (role finance or admin): payments found through Temporal's visibility with
// the typed search attributes, a payment's history as a timeline, balances and transactions
// from the ledger, reports and reconciliations.

var merchantIDPattern = regexp.MustCompile(`^mer_[A-Za-z0-9_]{1,64}$`)

// searchableStatuses are the PaymentStatus values a search may ask for.
var searchableStatuses = map[string]bool{
	"processing": true, "requires_action": true, "requires_capture": true, "succeeded": true, "failed": true,
	"canceled": true, schemas.SearchStatusNeedsAttention: true,
}

// financePayment is one payment as Temporal's visibility knows it.
type financePayment struct {
	ID                    string    `json:"id"`
	Merchant              string    `json:"merchant"`
	Status                string    `json:"status"`
	Amount                int64     `json:"amount"`
	Currency              string    `json:"currency"`
	StripePaymentIntentID string    `json:"stripe_payment_intent,omitempty"`
	WorkflowID            string    `json:"workflow_id"`
	WorkflowStatus        string    `json:"workflow_status"`
	Created               time.Time `json:"created"`
}

const (
	defaultPageSize = 25
	maxPageSize     = 100
)

// searchPayments is GET /v1/finance/payments: filters become a visibility query on the
// typed search attributes; pages follow Temporal's page token.
func (s *server) searchPayments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	query, err := paymentsQuery(q)
	if err != nil {
		return err
	}
	limit, err := intParam(q, "limit", defaultPageSize, 1, maxPageSize)
	if err != nil {
		return err
	}
	var token []byte
	if t := q.Get("page_token"); t != "" {
		if token, err = decodeToken(t); err != nil {
			return newError(codeParameterInvalid, "page_token", "page_token is not one this API gave out.")
		}
	}
	page, next, err := s.workflows.ListPayments(r.Context(), query, limit, token)
	if err != nil {
		return unavailable("Payment search is temporarily unavailable.", err)
	}
	data := make([]financePayment, 0, len(page))
	for _, ex := range page {
		fields := ex.GetSearchAttributes().GetIndexedFields()
		p := financePayment{WorkflowID: ex.GetExecution().GetWorkflowId(), WorkflowStatus: strings.ToLower(strings.TrimPrefix(ex.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_")),
			Created: ex.GetStartTime().AsTime().UTC()}
		p.ID = p.WorkflowID[strings.LastIndex(p.WorkflowID, "/")+1:]
		decodeAttribute(fields, schemas.SearchMerchantID.GetName(), &p.Merchant)
		decodeAttribute(fields, schemas.SearchPaymentStatus.GetName(), &p.Status)
		decodeAttribute(fields, schemas.SearchAmountMinor.GetName(), &p.Amount)
		decodeAttribute(fields, schemas.SearchCurrency.GetName(), &p.Currency)
		decodeAttribute(fields, schemas.SearchStripePaymentIntentID.GetName(), &p.StripePaymentIntentID)
		data = append(data, p)
	}
	body := map[string]any{"object": "list", "data": data, "query": query}
	if len(next) > 0 {
		body["next_page_token"] = encodeToken(next)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func decodeAttribute(fields map[string]*commonpb.Payload, name string, dst any) {
	if p, ok := fields[name]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, dst) // a missing or odd value stays zero
	}
}

// paymentsQuery builds the visibility query. Every value is checked against a strict
// pattern or parsed as a number or time first, so none can change the query's meaning.
func paymentsQuery(q url.Values) (string, error) {
	clauses := []string{"WorkflowType = '" + schemas.PaymentWorkflowName + "'"}
	if m := q.Get("merchant"); m != "" {
		if !merchantIDPattern.MatchString(m) {
			return "", newError(codeParameterInvalid, "merchant", "merchant must be a merchant ID (mer_...).")
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", schemas.SearchMerchantID.GetName(), m))
	}
	if st := q.Get("status"); st != "" {
		if !searchableStatuses[st] {
			return "", newError(codeParameterInvalid, "status", "status must be a payment status or needs_attention.")
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", schemas.SearchPaymentStatus.GetName(), st))
	}
	if c := q.Get("currency"); c != "" {
		cur, err := money.ParseCurrency(c)
		if err != nil {
			return "", newError(codeCurrencyInvalid, "currency", "currency must be a three-letter ISO 4217 code.")
		}
		clauses = append(clauses, fmt.Sprintf("%s = '%s'", schemas.SearchCurrency.GetName(), cur))
	}
	for _, bound := range []struct{ param, op string }{{"from", ">="}, {"to", "<"}} {
		var t time.Time
		if err := timeParam(q, bound.param, &t); err != nil {
			return "", err
		}
		if !t.IsZero() {
			clauses = append(clauses, fmt.Sprintf("StartTime %s '%s'", bound.op, t.UTC().Format(time.RFC3339)))
		}
	}
	for _, bound := range []struct{ param, op string }{{"min_amount", ">="}, {"max_amount", "<="}} {
		if v := q.Get(bound.param); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return "", newError(codeParameterInvalid, bound.param, bound.param+" must be a non-negative integer of minor units.")
			}
			clauses = append(clauses, fmt.Sprintf("%s %s %d", schemas.SearchAmountMinor.GetName(), bound.op, n))
		}
	}
	return strings.Join(clauses, " AND "), nil
}

// paymentTimeline is GET /v1/finance/payments/{id}/timeline: the payment's workflow history
// and its refunds', merged into one readable timeline; from the archive for workflows that
// Temporal's retention has deleted.
func (s *server) paymentTimeline(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rec, err := s.findPayment(ctx, "", mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	rfs, err := refunds.ForPayment(ctx, s.pool, rec.Merchant, rec.ID)
	if err != nil {
		return err
	}
	workflowIDs := []string{rec.WorkflowID}
	for _, rf := range rfs {
		workflowIDs = append(workflowIDs, rf.WorkflowID)
	}
	var timelines [][]timeline.Entry
	for _, id := range workflowIDs {
		events, err := s.histories.Read(ctx, id)
		if err != nil {
			return unavailable("Workflow history is temporarily unavailable.", err)
		}
		timelines = append(timelines, timeline.Render(id, events))
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "timeline", "payment": rec.Payment, "entries": timeline.Merge(timelines...)})
	return nil
}

// balances is GET /v1/finance/balances: each merchant's money per currency, derived from the
// ledger as of a time, with the double-entry check.
func (s *server) balances(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := ledger.SummaryFilter{Merchant: q.Get("merchant"), Currency: q.Get("currency")}
	if f.Merchant != "" && !merchantIDPattern.MatchString(f.Merchant) {
		return newError(codeParameterInvalid, "merchant", "merchant must be a merchant ID (mer_...).")
	}
	if f.Currency != "" {
		if _, err := money.ParseCurrency(f.Currency); err != nil {
			return newError(codeCurrencyInvalid, "currency", "currency must be a three-letter ISO 4217 code.")
		}
		f.Currency = strings.ToLower(f.Currency)
	}
	if v := q.Get("as_of"); v != "" {
		t, err := parseTime(v)
		if err != nil {
			return newError(codeParameterInvalid, "as_of", "as_of must be a date (the end of that UTC day) or an RFC 3339 time.")
		}
		if len(v) == len(time.DateOnly) {
			t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
		f.AsOf = t
	}
	sums, err := ledger.Summaries(r.Context(), s.pool, f)
	if err != nil {
		return err
	}
	unbalanced, err := ledger.Unbalanced(r.Context(), s.pool)
	if err != nil {
		return err
	}
	if sums == nil {
		sums = []ledger.Summary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": sums, "ledger_balanced": len(unbalanced) == 0})
	return nil
}

// ledgerTransaction is a transaction as finance reads it.
type ledgerTransaction struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Merchant  string          `json:"merchant"`
	Payment   string          `json:"payment,omitempty"`
	Refund    string          `json:"refund,omitempty"`
	StripeRef string          `json:"stripe_object,omitempty"`
	Created   time.Time       `json:"created"`
	Postings  []ledgerPosting `json:"postings"`
}

type ledgerPosting struct {
	Owner    string `json:"owner"`
	Account  string `json:"account"`
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"` // debit positive, credit negative
}

// ledgerTransactions is GET /v1/finance/ledger/transactions, oldest first, paginated with
// starting_after.
func (s *server) ledgerTransactions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := ledger.TransactionFilter{Merchant: q.Get("merchant"), Payment: q.Get("payment"), Kind: q.Get("kind"), After: q.Get("starting_after")}
	if f.Merchant != "" && !merchantIDPattern.MatchString(f.Merchant) {
		return newError(codeParameterInvalid, "merchant", "merchant must be a merchant ID (mer_...).")
	}
	var err error
	if f.Limit, err = intParam(q, "limit", defaultPageSize, 1, maxPageSize); err != nil {
		return err
	}
	if err := timeParam(q, "from", &f.From); err != nil {
		return err
	}
	if err := timeParam(q, "to", &f.To); err != nil {
		return err
	}
	f.Limit++ // one more, to tell whether more follow
	txns, err := ledger.ListTransactions(r.Context(), s.pool, f)
	if err != nil {
		return err
	}
	hasMore := len(txns) == f.Limit
	if hasMore {
		txns = txns[:len(txns)-1]
	}
	data := make([]ledgerTransaction, len(txns))
	for i, t := range txns {
		lt := ledgerTransaction{ID: t.ID, Kind: t.Kind, Merchant: t.MerchantID, Payment: t.PaymentID, Refund: t.RefundID,
			StripeRef: t.ExternalRef, Created: t.Created.UTC(), Postings: make([]ledgerPosting, len(t.Postings))}
		for j, p := range t.Postings {
			lt.Postings[j] = ledgerPosting{Owner: p.Account.Owner, Account: string(p.Account.Kind), Currency: string(p.Account.Currency), Amount: p.Amount}
		}
		data[i] = lt
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": hasMore})
	return nil
}

// reportDownloadTTL is how long a report's download URL works.
const reportDownloadTTL = 15 * time.Minute

// listReports is GET /v1/finance/reports: reports with pre-signed download URLs.
func (s *server) listReports(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	merchant := q.Get("merchant")
	if merchant != "" && !merchantIDPattern.MatchString(merchant) {
		return newError(codeParameterInvalid, "merchant", "merchant must be a merchant ID (mer_...).")
	}
	from, to, err := dayRange(q)
	if err != nil {
		return err
	}
	list, err := reports.List(r.Context(), s.pool, merchant, from, to, 500)
	if err != nil {
		return err
	}
	type listed struct {
		reports.Listed
		DownloadURL string    `json:"download_url"`
		URLExpires  time.Time `json:"download_url_expires"`
	}
	data := make([]listed, len(list))
	for i, l := range list {
		u, err := s.objects.PresignGet(r.Context(), l.Key, reportDownloadTTL)
		if err != nil {
			return err
		}
		data[i] = listed{Listed: l, DownloadURL: u, URLExpires: time.Now().Add(reportDownloadTTL).UTC().Truncate(time.Second)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
	return nil
}

// reconciliations is GET /v1/finance/reconciliation: each day's run and its mismatches.
func (s *server) reconciliations(w http.ResponseWriter, r *http.Request) error {
	from, to, err := dayRange(r.URL.Query())
	if err != nil {
		return err
	}
	runs, err := reconcile.Runs(r.Context(), s.pool, from, to)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []reconcile.Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": runs})
	return nil
}

// dayRange reads from and to as days, by default the last 31 days.
func dayRange(q url.Values) (time.Time, time.Time, error) {
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, 0, -31)
	for _, b := range []struct {
		param string
		dst   *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(b.param); v != "" {
			d, err := reports.ParseDay(v)
			if err != nil {
				return time.Time{}, time.Time{}, newError(codeParameterInvalid, b.param, b.param+" must be a day: YYYY-MM-DD.")
			}
			*b.dst = d
		}
	}
	return from, to, nil
}

// timeParam reads an optional time parameter into dst (left as it is when absent).
func timeParam(q url.Values, name string, dst *time.Time) error {
	v := q.Get(name)
	if v == "" {
		return nil
	}
	t, err := parseTime(v)
	if err != nil {
		return newError(codeParameterInvalid, name, name+" must be a date (2026-11-29) or an RFC 3339 time.")
	}
	*dst = t
	return nil
}

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.ParseInLocation(time.DateOnly, v, time.UTC)
}

func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, newError(codeParameterInvalid, name, fmt.Sprintf("%s must be an integer from %d to %d.", name, lo, hi))
	}
	return n, nil
}

// Temporal's page tokens travel as URL-safe base64.
func encodeToken(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func decodeToken(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
