// Package stripesandbox is Durapay's stateful Stripe stand-in for development and tests.
//
// stripe-mock (Stripe's official mock) checks that requests are valid against Stripe's API
// spec but keeps no state, so it cannot show idempotency, declines, 3-D Secure or webhooks.
// This sandbox speaks the wire format stripe-go v76 uses (form-encoded parameters, Stripe's
// JSON objects and error shape) for the resources Durapay calls, keeps their state, applies
// Stripe's idempotency rules, behaves like Stripe's documented test payment methods, sends
// signed webhook events, and can be told to misbehave (see Fault).
//
// It is a development tool: it is never linked into frontend-api or the workers.
package stripesandbox

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// APIVersion is the Stripe API version the sandbox emulates (stripe-go v76's pin).
const APIVersion = "2023-10-16"

// idempotencyKeyLifetime is how long Stripe keeps an idempotent result.
const idempotencyKeyLifetime = 24 * time.Hour

// Config configures a Server. The zero value works: no webhooks, real time, no persistence.
type Config struct {
	// WebhookURL receives every event as a signed POST. Empty disables delivery.
	WebhookURL string
	// WebhookSecrets sign deliveries ("whsec_..."); each adds a v1 signature, as Stripe does
	// while an endpoint's secret is being rolled.
	WebhookSecrets []string
	// StatePath, when set, is loaded at start and written by Close, so the sandbox's objects
	// survive a restart of `make dev`.
	StatePath string
	// Now is the sandbox's clock (object timestamps, idempotency expiry).
	Now func() time.Time
	// Logf reports webhook delivery problems. Defaults to discarding.
	Logf func(format string, args ...any)
}

// Server is the sandbox. Its zero value is not usable; call New.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu       sync.Mutex // guards everything below
	st       *state
	inflight map[string]bool // idempotency scopes with a request executing
	faults   []*Fault
	requests []RequestRecord
	// searchLag is how long a new PaymentIntent stays out of search results: Stripe's search
	// index is eventually consistent ("under a minute" normally, longer during incidents).
	searchLag time.Duration

	hooks *webhookSender
}

// state is everything the sandbox persists.
type state struct {
	PaymentIntents      map[string]*paymentIntent    `json:"payment_intents"`
	Charges             map[string]*charge           `json:"charges"`
	Refunds             map[string]*refund           `json:"refunds"`
	Customers           map[string]*customer         `json:"customers"`
	Accounts            map[string]*account          `json:"accounts"`
	AccountLinks        map[string]*accountLink      `json:"account_links"`
	Events              []*event                     `json:"events"`
	BalanceTransactions []*balanceTransaction        `json:"balance_transactions"`
	Idempotency         map[string]*idempotentResult `json:"idempotency"`
	// Order of creation, for lists (newest first, as Stripe lists).
	PaymentIntentOrder []string `json:"payment_intent_order"`
	RefundOrder        []string `json:"refund_order"`
	CustomerOrder      []string `json:"customer_order"`
	AccountOrder       []string `json:"account_order"`
}

func newState() *state {
	return &state{
		PaymentIntents: map[string]*paymentIntent{},
		Charges:        map[string]*charge{},
		Refunds:        map[string]*refund{},
		Customers:      map[string]*customer{},
		Accounts:       map[string]*account{},
		AccountLinks:   map[string]*accountLink{},
		Idempotency:    map[string]*idempotentResult{},
	}
}

// New builds a sandbox, restoring Config.StatePath if it exists.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{cfg: cfg, st: newState(), inflight: map[string]bool{}}
	if cfg.StatePath != "" {
		b, err := os.ReadFile(cfg.StatePath)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read sandbox state: %w", err)
		default:
			st := newState()
			if err := json.Unmarshal(b, st); err != nil {
				return nil, fmt.Errorf("decode sandbox state %s: %w", cfg.StatePath, err)
			}
			s.st = st
		}
	}
	s.hooks = newWebhookSender(cfg)
	s.routes()
	return s, nil
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops webhook delivery and, with a StatePath, saves the state.
func (s *Server) Close() error {
	s.hooks.close()
	if s.cfg.StatePath == "" {
		return nil
	}
	s.mu.Lock()
	b, err := json.Marshal(s.st)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	tmp := s.cfg.StatePath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.cfg.StatePath)
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/payment_intents", s.api(s.createPaymentIntent))
	m.HandleFunc("GET /v1/payment_intents", s.api(s.listPaymentIntents))
	m.HandleFunc("GET /v1/payment_intents/search", s.api(s.searchPaymentIntents))
	m.HandleFunc("GET /v1/payment_intents/{id}", s.api(s.retrievePaymentIntent))
	m.HandleFunc("POST /v1/payment_intents/{id}/confirm", s.api(s.confirmPaymentIntent))
	m.HandleFunc("POST /v1/payment_intents/{id}/capture", s.api(s.capturePaymentIntent))
	m.HandleFunc("POST /v1/payment_intents/{id}/cancel", s.api(s.cancelPaymentIntent))
	m.HandleFunc("GET /v1/charges/{id}", s.api(s.retrieveCharge))
	m.HandleFunc("POST /v1/refunds", s.api(s.createRefund))
	m.HandleFunc("GET /v1/refunds", s.api(s.listRefunds))
	m.HandleFunc("GET /v1/refunds/{id}", s.api(s.retrieveRefund))
	m.HandleFunc("POST /v1/customers", s.api(s.createCustomer))
	m.HandleFunc("GET /v1/customers", s.api(s.listCustomers))
	m.HandleFunc("GET /v1/customers/{id}", s.api(s.retrieveCustomer))
	m.HandleFunc("POST /v1/accounts", s.api(s.createAccount))
	m.HandleFunc("GET /v1/accounts", s.api(s.listAccounts))
	m.HandleFunc("GET /v1/accounts/{id}", s.api(s.retrieveAccount))
	m.HandleFunc("POST /v1/accounts/{id}", s.api(s.updateAccount))
	m.HandleFunc("POST /v1/account_links", s.api(s.createAccountLink))
	m.HandleFunc("GET /v1/events", s.api(s.listEvents))
	m.HandleFunc("GET /v1/events/{id}", s.api(s.retrieveEvent))
	m.HandleFunc("GET /v1/balance_transactions", s.api(s.listBalanceTransactions))
	m.HandleFunc("/v1/", s.api(func(*apiRequest) response {
		return fail(&apiError{status: 404, Type: "invalid_request_error", Message: "Unrecognized request URL. (The Durapay Stripe sandbox implements a subset of Stripe's API.)", validation: true})
	}))
	s.controlRoutes(m)
	s.mux = m
}

// apiRequest is one authenticated Stripe API call.
type apiRequest struct {
	r      *http.Request
	apiKey string
	params params
	now    time.Time
	id     string // Request-Id
	base   string // scheme://host of the sandbox, for URLs it hands out
}

// response is what a handler decides; api() writes it and stores it for idempotency.
type response struct {
	status int
	body   any
	// keep says whether an idempotent replay should return this response. Stripe saves a
	// result only once the endpoint has started executing, so parameter validation errors
	// are not saved (a corrected retry with the same key may then succeed).
	keep bool
}

func ok(obj any) response { return response{status: 200, body: obj, keep: true} }

func fail(e *apiError) response {
	return response{status: e.status, body: map[string]any{"error": e}, keep: !e.validation}
}

// apiError is Stripe's error object.
type apiError struct {
	status        int
	validation    bool
	Type          string         `json:"type"`
	Code          string         `json:"code,omitempty"`
	DeclineCode   string         `json:"decline_code,omitempty"`
	Message       string         `json:"message"`
	Param         string         `json:"param,omitempty"`
	PaymentIntent *paymentIntent `json:"payment_intent,omitempty"`
	Charge        string         `json:"charge,omitempty"`
}

func invalidParam(param, msg string) *apiError {
	return &apiError{status: 400, validation: true, Type: "invalid_request_error", Code: "parameter_invalid_integer", Param: param, Message: msg}
}

func missingParam(param string) *apiError {
	return &apiError{status: 400, validation: true, Type: "invalid_request_error", Code: "parameter_missing", Param: param, Message: "Missing required param: " + param + "."}
}

func badParam(param, msg string) *apiError {
	return &apiError{status: 400, validation: true, Type: "invalid_request_error", Code: "parameter_invalid", Param: param, Message: msg}
}

func noSuch(kind, param, id string) *apiError {
	return &apiError{status: 404, validation: true, Type: "invalid_request_error", Code: "resource_missing", Param: param,
		Message: fmt.Sprintf("No such %s: '%s'", kind, id)}
}

// unexpectedState is stored: the request executed and found the object in the wrong state.
func unexpectedState(code, msg string, pi *paymentIntent) *apiError {
	return &apiError{status: 400, Type: "invalid_request_error", Code: code, Message: msg, PaymentIntent: pi}
}

// idempotentResult is a saved response, replayed for the same key and parameters.
type idempotentResult struct {
	Endpoint string          `json:"endpoint"`
	Params   string          `json:"params"`
	Status   int             `json:"status"`
	Body     json.RawMessage `json:"body"`
	Created  time.Time       `json:"created"`
}

// api wraps a handler with what every Stripe call gets: authentication, parameter decoding,
// faults, idempotency, the request log and the response writing.
func (s *Server) api(h func(*apiRequest) response) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := &apiRequest{r: r, id: newID("req"), base: "http://" + r.Host}
		w.Header().Set("Request-Id", req.id)
		w.Header().Set("Stripe-Version", APIVersion)
		rec := RequestRecord{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key")}
		defer func() { s.record(rec) }()

		key, authErr := apiKey(r)
		if authErr != nil {
			rec.Status = authErr.status
			writeJSON(w, authErr.status, map[string]any{"error": authErr})
			return
		}
		req.apiKey = key
		if err := r.ParseForm(); err != nil {
			rec.Status = 400
			writeJSON(w, 400, map[string]any{"error": badParam("", "Invalid request body: "+err.Error())})
			return
		}
		values := r.PostForm
		if r.Method == http.MethodGet {
			values = r.URL.Query()
		}
		p, err := parseParams(values)
		if err != nil {
			rec.Status = 400
			writeJSON(w, 400, map[string]any{"error": badParam("", err.Error())})
			return
		}
		req.params = p

		var latency time.Duration
		fault := s.takeFault(r.Method, r.URL.Path)
		if fault != nil {
			rec.Fault = string(fault.Mode)
			switch fault.Mode {
			case FaultLatency:
				latency = time.Duration(fault.LatencyMS) * time.Millisecond
			case FaultDropAfterApply:
			default:
				rec.Status = fault.before(w)
				return
			}
		}

		status, body, replayed := s.execute(req, h, canonical(values), latency)
		rec.Status, rec.Replayed = status, replayed
		if fault != nil && fault.Mode == FaultDropAfterApply {
			rec.Status = 0
			dropConnection(w)
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// execute runs the handler under the state lock, honouring the Idempotency-Key. A latency
// fault is spent while the key is marked in flight, so that a concurrent request with the
// same key meets Stripe's 409, as it would against a slow Stripe.
func (s *Server) execute(req *apiRequest, h func(*apiRequest) response, canon string, latency time.Duration) (status int, body []byte, replayed bool) {
	r := req.r
	idemKey := r.Header.Get("Idempotency-Key")
	endpoint := r.Method + " " + r.URL.Path
	scope := req.apiKey + "\x00" + idemKey
	useIdem := idemKey != "" && r.Method == http.MethodPost

	if useIdem {
		if status, body, replayed, done := s.claimKey(scope, idemKey, endpoint, canon); done {
			return status, body, replayed
		}
	}
	time.Sleep(latency)

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, scope)
	req.now = s.cfg.Now()
	resp := h(req)
	body = mustJSON(resp.body)
	if useIdem && resp.keep {
		s.st.Idempotency[scope] = &idempotentResult{Endpoint: endpoint, Params: canon, Status: resp.status, Body: body, Created: req.now}
	}
	return resp.status, body, false
}

// SetSearchLag makes search miss PaymentIntents created within the last d, as Stripe's
// eventually consistent search index does; 0 (the default) shows every one at once.
func (s *Server) SetSearchLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.searchLag = d
}

// ForgetIdempotencyKeys drops every saved idempotent result, as Stripe does 24 hours after a
// key's first use: a request with an old key then executes again. It returns how many were
// forgotten.
func (s *Server) ForgetIdempotencyKeys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.st.Idempotency)
	clear(s.st.Idempotency)
	return n
}

// claimKey marks an idempotency scope in flight, or answers for it (done): the saved result
// (replayed), an idempotency_error for different parameters, or a 409 while another request
// with the key is executing.
func (s *Server) claimKey(scope, idemKey, endpoint, canon string) (status int, body []byte, replayed, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, found := s.st.Idempotency[scope]; found && s.cfg.Now().Sub(prev.Created) < idempotencyKeyLifetime {
		if prev.Endpoint != endpoint || prev.Params != canon {
			e := &apiError{status: 400, Type: "idempotency_error",
				Message: fmt.Sprintf("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", idemKey)}
			return e.status, mustJSON(map[string]any{"error": e}), false, true
		}
		return prev.Status, prev.Body, true, true
	}
	if s.inflight[scope] {
		e := &apiError{status: 409, Type: "idempotency_error",
			Message: "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): " + idemKey + ". Please try again later."}
		return e.status, mustJSON(map[string]any{"error": e}), false, true
	}
	s.inflight[scope] = true
	return 0, nil, false, false
}

// apiKey reads the secret key the way Stripe accepts it: Bearer, or Basic with the key as user.
func apiKey(r *http.Request) (string, *apiError) {
	key := ""
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		key = strings.TrimPrefix(a, "Bearer ")
	} else if u, _, ok := r.BasicAuth(); ok {
		key = u
	}
	if !strings.HasPrefix(key, "sk_test_") && !strings.HasPrefix(key, "rk_test_") {
		return "", &apiError{status: 401, Type: "invalid_request_error",
			Message: "Invalid API Key provided: the Durapay Stripe sandbox accepts test-mode secret keys (sk_test_...)."}
	}
	return key, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(v))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("stripesandbox: marshal response: %v", err)) // our own types; cannot fail
	}
	return b
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns prefix_ followed by 24 random alphanumerics, like Stripe's IDs.
func newID(prefix string) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + "_" + string(b)
}
