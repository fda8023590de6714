package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// client calls the finance API. Every call is a GET, so a call the API could not serve
// for the moment is simply made again.
type client struct {
	base *url.URL
	key  string
	http *http.Client
}

func newClient(base *url.URL, key string, timeout time.Duration) *client {
	return &client{base: base, key: key, http: &http.Client{Timeout: timeout}}
}

// APIError is the API's error answer: {"error":{"type","code","message","param","request_id"}}.
type APIError struct {
	Status    int    `json:"-"`
	Type      string `json:"type"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Param     string `json:"param"`
	RequestID string `json:"request_id"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	b.WriteString(" (HTTP " + strconv.Itoa(e.Status))
	if e.Param != "" {
		b.WriteString(", param " + e.Param)
	}
	if e.RequestID != "" {
		// What support asks for: the API logs each request under this ID.
		b.WriteString(", request " + e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// payment is one payment as the finance search returns it.
type payment struct {
	ID                  string    `json:"id"`
	Merchant            string    `json:"merchant"`
	Status              string    `json:"status"`
	Amount              int64     `json:"amount"`
	Currency            string    `json:"currency"`
	StripePaymentIntent string    `json:"stripe_payment_intent,omitempty"`
	WorkflowID          string    `json:"workflow_id"`
	WorkflowStatus      string    `json:"workflow_status"`
	Created             time.Time `json:"created"`
}

type paymentPage struct {
	Data          []payment `json:"data"`
	NextPageToken string    `json:"next_page_token,omitempty"`
}

// paymentFilter holds the search's filters as the API takes them; empty ones are left out.
type paymentFilter struct {
	Merchant, Status, Currency, From, To string
	MinAmount, MaxAmount                 *int64 // minor units
	Limit                                int    // page size; 0 leaves the API's default
}

func (f paymentFilter) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("merchant", f.Merchant)
	set("status", f.Status)
	set("currency", f.Currency)
	set("from", f.From)
	set("to", f.To)
	if f.MinAmount != nil {
		q.Set("min_amount", strconv.FormatInt(*f.MinAmount, 10))
	}
	if f.MaxAmount != nil {
		q.Set("max_amount", strconv.FormatInt(*f.MaxAmount, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// Payments is GET /v1/finance/payments: one page, from pageToken ("" for the first).
func (c *client) Payments(ctx context.Context, f paymentFilter, pageToken string) (paymentPage, error) {
	q := f.query()
	if pageToken != "" {
		q.Set("page_token", pageToken)
	}
	var page paymentPage
	err := c.get(ctx, "/v1/finance/payments", q, &page)
	return page, err
}

// timelineEntry is one line of a payment's timeline.
type timelineEntry struct {
	Time     time.Time `json:"time"`
	Workflow string    `json:"workflow"`
	What     string    `json:"what"`
	Attempt  int32     `json:"attempt,omitempty"`
	Actor    string    `json:"actor,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// paymentTimeline keeps the payment as the API sent it: --json passes it on whole, and the
// table needs only a few of its fields.
type paymentTimeline struct {
	Object  string          `json:"object"`
	Payment json.RawMessage `json:"payment"`
	Entries []timelineEntry `json:"entries"`
}

// Timeline is GET /v1/finance/payments/{id}/timeline.
func (c *client) Timeline(ctx context.Context, paymentID string) (paymentTimeline, error) {
	var tl paymentTimeline
	err := c.get(ctx, "/v1/finance/payments/"+url.PathEscape(paymentID)+"/timeline", nil, &tl)
	return tl, err
}

// report is one day's report of one merchant, with a pre-signed URL to download it.
type report struct {
	Merchant           string    `json:"merchant"`
	Day                string    `json:"day"`
	Key                string    `json:"key"`
	SHA256             string    `json:"sha256"`
	SizeBytes          int64     `json:"size_bytes"`
	Rows               int       `json:"rows"`
	Created            time.Time `json:"created"`
	DownloadURL        string    `json:"download_url"`
	DownloadURLExpires time.Time `json:"download_url_expires"`
}

// Reports is GET /v1/finance/reports, days as YYYY-MM-DD.
func (c *client) Reports(ctx context.Context, merchant, from, to string) ([]report, error) {
	q := url.Values{}
	for k, v := range map[string]string{"merchant": merchant, "from": from, "to": to} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var list struct {
		Data []report `json:"data"`
	}
	err := c.get(ctx, "/v1/finance/reports", q, &list)
	return list.Data, err
}

// balance is a merchant's money in one currency, in minor units.
type balance struct {
	Merchant string           `json:"merchant"`
	Currency string           `json:"currency"`
	Captured int64            `json:"captured"`
	Fees     int64            `json:"fees"`
	Refunds  int64            `json:"refunds"`
	Net      int64            `json:"net"`
	Accounts map[string]int64 `json:"accounts"`
}

type balances struct {
	Data           []balance `json:"data"`
	LedgerBalanced bool      `json:"ledger_balanced"`
}

// Balances is GET /v1/finance/balances.
func (c *client) Balances(ctx context.Context, merchant, currency, asOf string) (balances, error) {
	q := url.Values{}
	for k, v := range map[string]string{"merchant": merchant, "currency": currency, "as_of": asOf} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var b balances
	err := c.get(ctx, "/v1/finance/balances", q, &b)
	return b, err
}

// Download opens a report's pre-signed URL. It sends no API key: the URL carries its own
// signature, and the object store is not the API, so it has no business seeing staff keys.
// The caller closes the body; size is -1 when the server does not say.
func (c *client) Download(ctx context.Context, rawURL string) (body io.ReadCloser, size int64, err error) {
	u, err := c.base.Parse(rawURL) // a relative URL is the API's own
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, 0, fmt.Errorf("the report's download URL is not an http URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("download report: %w", redact(err))
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, 0, fmt.Errorf("download report: HTTP %d from the object store: %s", resp.StatusCode, oneLine(string(snippet)))
	}
	return resp.Body, resp.ContentLength, nil
}

const userAgent = "durapay-ctl"

// Answers bigger than this are not the finance API's (its pages hold 100 items at most).
const maxAnswerBytes = 64 << 20

// retries is how many times a call the API could not serve for the moment is made again.
const retries = 2

// get calls the API and decodes its JSON answer into out.
func (c *client) get(ctx context.Context, path string, q url.Values, out any) error {
	u := c.base.JoinPath(path)
	u.RawQuery = q.Encode()
	for attempt := 0; ; attempt++ {
		wait, err := c.getOnce(ctx, u.String(), out)
		if wait < 0 || attempt == retries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// post sends a JSON body (nil: none) and decodes the answer into out (nil: discarded). It is
// not retried: a second call could act twice.
func (c *client) post(ctx context.Context, path string, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := c.newRequest(ctx, http.MethodPost, c.base.JoinPath(path).String(), raw)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer := io.LimitReader(resp.Body, maxAnswerBytes)
	if resp.StatusCode/100 != 2 {
		return decodeError(resp, answer)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, answer)
		return err
	}
	if err := json.NewDecoder(answer).Decode(out); err != nil {
		return fmt.Errorf("read the API's answer to %s: %w", path, err)
	}
	return nil
}

// newRequest is a request to the API, with the key and a JSON body when there is one.
func (c *client) newRequest(ctx context.Context, method, u string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.key, "")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// getOnce makes one call. A non-negative wait says the call may succeed if made again then:
// the API was overloaded or restarting (429, 502, 503, 504), as a long export will meet.
func (c *client) getOnce(ctx context.Context, u string, out any) (wait time.Duration, err error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return -1, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return -1, err
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxAnswerBytes)
	if resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(body).Decode(out); err != nil {
			return -1, fmt.Errorf("read the API's answer to %s: %w", req.URL.Path, err)
		}
		return -1, nil
	}
	wait = -1
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		wait = retryAfter(resp.Header.Get("Retry-After"))
	}
	return wait, decodeError(resp, body)
}

// decodeError reads the API's error answer, or says what came instead (a proxy's page).
func decodeError(resp *http.Response, body io.Reader) error {
	raw, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	var answer struct {
		Error *APIError `json:"error"`
	}
	e := &APIError{}
	if json.Unmarshal(raw, &answer) == nil && answer.Error != nil && answer.Error.Code != "" {
		e = answer.Error
	} else {
		e.Message = strings.TrimSpace(http.StatusText(resp.StatusCode) + ": " + oneLine(string(raw)))
	}
	e.Status = resp.StatusCode
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("Request-Id")
	}
	return e
}

// retryAfter reads Retry-After in seconds, capped: a person is waiting.
func retryAfter(v string) time.Duration {
	const fallback, ceiling = time.Second, 10 * time.Second
	n, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil || n < 0:
		return fallback
	case time.Duration(n)*time.Second > ceiling:
		return ceiling
	default:
		return time.Duration(n) * time.Second
	}
}

// redact keeps a URL's query out of transport errors: a pre-signed URL's query is its
// signature, and errors end up in terminals, logs and tickets.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.RawQuery != "" {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String() + "?…", Err: ue.Err}
		}
	}
	return err
}

func oneLine(s string) string {
	return truncate(strings.Join(strings.Fields(s), " "), 200)
}
