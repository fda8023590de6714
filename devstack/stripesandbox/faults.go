package stripesandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FaultMode is a way the sandbox can misbehave, for fault tests.
type FaultMode string

const (
	// FaultLatency delays the request by LatencyMS before it executes.
	FaultLatency FaultMode = "latency"
	// FaultServerError answers 500 api_error without executing (Stripe's "indeterminate"
	// answer: the client must retry with the same idempotency key).
	FaultServerError FaultMode = "server_error"
	// FaultRateLimit answers 429 rate_limit without executing.
	FaultRateLimit FaultMode = "rate_limit"
	// FaultLockTimeout answers 429 lock_timeout without executing.
	FaultLockTimeout FaultMode = "lock_timeout"
	// FaultIdempotencyError answers 400 idempotency_error without executing, as Stripe does
	// for a key reused with other parameters: what no retry can fix.
	FaultIdempotencyError FaultMode = "idempotency_error"
	// FaultDropBeforeApply closes the connection without executing.
	FaultDropBeforeApply FaultMode = "drop_before_apply"
	// FaultDropAfterApply executes the request (and saves its idempotent result), then closes
	// the connection without answering: the client cannot know whether it happened.
	FaultDropAfterApply FaultMode = "drop_after_apply"
)

// Fault makes the next Times requests matching Method and PathPrefix misbehave.
type Fault struct {
	Method     string    `json:"method,omitempty"` // empty: any method
	PathPrefix string    `json:"path_prefix"`      // for example "/v1/payment_intents"
	Mode       FaultMode `json:"mode"`
	// Times is how many matching requests the fault affects; -1 means until cleared.
	Times     int `json:"times"`
	LatencyMS int `json:"latency_ms,omitempty"`
}

func (f *Fault) validate() error {
	switch f.Mode {
	case FaultLatency, FaultServerError, FaultRateLimit, FaultLockTimeout, FaultIdempotencyError, FaultDropBeforeApply, FaultDropAfterApply:
	default:
		return fmt.Errorf("unknown fault mode %q", f.Mode)
	}
	if f.Times == 0 || f.Times < -1 {
		return fmt.Errorf("times must be positive, or -1 for until cleared")
	}
	if !strings.HasPrefix(f.PathPrefix, "/v1/") {
		return fmt.Errorf("path_prefix must start with /v1/")
	}
	return nil
}

// InjectFault adds a fault. Faults are matched in the order they were added.
func (s *Server) InjectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
	return nil
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault finds the first fault matching the request and spends one of its Times.
func (s *Server) takeFault(method, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method != "" && f.Method != method) || !strings.HasPrefix(path, f.PathPrefix) {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f
	}
	return nil
}

// before answers a request the fault stops before it executes; it returns the status sent
// (0 for a dropped connection).
func (f *Fault) before(w http.ResponseWriter) int {
	switch f.Mode {
	case FaultServerError:
		writeJSON(w, 500, map[string]any{"error": &apiError{Type: "api_error", Message: "An unknown error occurred (injected by the sandbox)."}})
		return 500
	case FaultRateLimit:
		writeJSON(w, 429, map[string]any{"error": &apiError{Type: "invalid_request_error", Code: "rate_limit",
			Message: "Too many requests hit the API too quickly (injected by the sandbox)."}})
		return 429
	case FaultLockTimeout:
		writeJSON(w, 429, map[string]any{"error": &apiError{Type: "invalid_request_error", Code: "lock_timeout",
			Message: "This object cannot be accessed right now because another API request or Stripe process is currently accessing it (injected by the sandbox)."}})
		return 429
	case FaultIdempotencyError:
		writeJSON(w, 400, map[string]any{"error": &apiError{Type: "idempotency_error",
			Message: "Keys for idempotent requests can only be used with the same parameters they were first used with (injected by the sandbox)."}})
		return 400
	default: // FaultDropBeforeApply
		dropConnection(w)
		return 0
	}
}

// dropConnection closes the TCP connection without writing a response.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: aborting the handler resets the stream
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// RequestRecord is one API request as the sandbox saw it, for tests' assertions.
type RequestRecord struct {
	Time           time.Time `json:"time"`
	Method         string    `json:"method"`
	Path           string    `json:"path"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	Status         int       `json:"status"` // 0: connection dropped
	Replayed       bool      `json:"replayed,omitempty"`
	Fault          string    `json:"fault,omitempty"`
}

// maxRequestLog bounds the request log of a long `make dev` session.
const maxRequestLog = 10_000

func (s *Server) record(rec RequestRecord) {
	rec.Time = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) >= maxRequestLog {
		s.requests = append(s.requests[:0], s.requests[len(s.requests)-maxRequestLog/2:]...)
	}
	s.requests = append(s.requests, rec)
}

// Requests returns the request log, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestRecord(nil), s.requests...)
}
