package stripesandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

type event struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	// Account is the connected account an event happened on (Connect events), as Stripe
	// sets it on the events it sends to Connect endpoints.
	Account         string       `json:"account,omitempty"`
	APIVersion      string       `json:"api_version"`
	Created         int64        `json:"created"`
	Data            eventData    `json:"data"`
	Livemode        bool         `json:"livemode"`
	PendingWebhooks int64        `json:"pending_webhooks"`
	Request         eventRequest `json:"request"`
	Type            string       `json:"type"`
}

type eventData struct {
	Object json.RawMessage `json:"object"`
}

type eventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

// emit records an event with a snapshot of obj and queues its webhook delivery.
// The caller holds s.mu.
func (s *Server) emit(req *apiRequest, typ string, obj any) {
	ev := &event{ID: newID("evt"), Object: "event", APIVersion: APIVersion, Created: req.now.Unix(),
		Data: eventData{Object: mustJSON(obj)}, Type: typ, PendingWebhooks: 1}
	if a, ok := obj.(*account); ok {
		ev.Account = a.ID
	}
	if req.r != nil {
		id, key := req.id, req.r.Header.Get("Idempotency-Key")
		ev.Request.ID = &id
		if key != "" {
			ev.Request.IdempotencyKey = &key
		}
	}
	s.st.Events = append(s.st.Events, ev)
	s.hooks.enqueue(mustJSON(ev))
}

func (s *Server) findEvent(id string) *event {
	for i := len(s.st.Events) - 1; i >= 0; i-- {
		if s.st.Events[i].ID == id {
			return s.st.Events[i]
		}
	}
	return nil
}

func (s *Server) retrieveEvent(req *apiRequest) response {
	ev := s.findEvent(req.r.PathValue("id"))
	if ev == nil {
		return fail(noSuch("event", "id", req.r.PathValue("id")))
	}
	return ok(ev)
}

func (s *Server) listEvents(req *apiRequest) response {
	p := req.params
	if e := p.unknown("limit", "starting_after", "ending_before", "type", "types", "created", "delivery_success", "expand"); e != nil {
		return fail(e)
	}
	created, e := parseRange(p, "created")
	if e != nil {
		return fail(e)
	}
	types := map[string]bool{}
	for _, t := range p.list("types") {
		types[t] = true
	}
	typ := p.str("type")
	ids := make([]string, len(s.st.Events))
	byID := make(map[string]*event, len(ids))
	for i, ev := range s.st.Events {
		ids[i] = ev.ID
		byID[ev.ID] = ev
	}
	return listOf(req, "/v1/events", ids, func(id string) (any, bool) {
		ev := byID[id]
		return ev, matchType(typ, ev.Type) && (len(types) == 0 || types[ev.Type]) && created.contains(ev.Created)
	})
}

// matchType applies Stripe's type filter, where "payment_intent.*" matches a prefix.
func matchType(filter, typ string) bool {
	if filter == "" {
		return true
	}
	if prefix, wildcard := strings.CutSuffix(filter, "*"); wildcard {
		return strings.HasPrefix(typ, prefix)
	}
	return filter == typ
}

// SignPayload computes a Stripe-Signature header value: t=<unix>,v1=<hex HMAC-SHA256 of
// "<t>.<payload>"> with one v1 per secret.
func SignPayload(payload []byte, t time.Time, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	parts := []string{"t=" + ts}
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "."))
		mac.Write(payload)
		parts = append(parts, "v1="+hex.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(parts, ",")
}

// WebhookMode controls automatic webhook delivery.
type WebhookMode string

const (
	// WebhooksDeliver sends events as they happen (the default).
	WebhooksDeliver WebhookMode = "deliver"
	// WebhooksPause holds events and sends them when delivery resumes.
	WebhooksPause WebhookMode = "pause"
	// WebhooksDrop never sends events that happen meanwhile: only the Events list has them,
	// as after an outage longer than Stripe's retry window.
	WebhooksDrop WebhookMode = "drop"
)

// webhook delivery retries: Stripe retries for days; the sandbox gives up sooner so that a
// stopped receiver in development does not pile up work.
const (
	webhookAttempts     = 5
	webhookFirstBackoff = 500 * time.Millisecond
)

// webhookSender posts events in order, one at a time, with retries.
type webhookSender struct {
	url     string
	secrets []string
	logf    func(string, ...any)
	client  *http.Client

	mu     sync.Mutex
	cond   *sync.Cond
	queue  [][]byte
	mode   WebhookMode
	closed bool
	done   chan struct{}
}

func newWebhookSender(cfg Config) *webhookSender {
	w := &webhookSender{url: cfg.WebhookURL, secrets: cfg.WebhookSecrets, logf: cfg.Logf,
		client: &http.Client{Timeout: 10 * time.Second}, mode: WebhooksDeliver, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

func (w *webhookSender) enqueue(payload []byte) {
	if w.url == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mode == WebhooksDrop || w.closed {
		return
	}
	w.queue = append(w.queue, payload)
	w.cond.Signal()
}

func (w *webhookSender) setMode(m WebhookMode) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mode = m
	w.cond.Broadcast()
}

func (w *webhookSender) close() {
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
}

func (w *webhookSender) loop() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for !w.closed && (len(w.queue) == 0 || w.mode != WebhooksDeliver) {
			w.cond.Wait()
		}
		if w.closed {
			w.mu.Unlock()
			return
		}
		payload := w.queue[0]
		w.queue = w.queue[1:]
		w.mu.Unlock()

		backoff := webhookFirstBackoff
		for attempt := 1; ; attempt++ {
			status, err := w.deliver(payload)
			if err == nil && status < 300 {
				break
			}
			if attempt == webhookAttempts || w.isClosed() {
				w.logf("stripe sandbox: webhook delivery to %s abandoned after %d attempts (status %d, error %v)", w.url, attempt, status, err)
				break
			}
			time.Sleep(backoff)
			backoff *= 2
		}
	}
}

func (w *webhookSender) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

// deliver posts one signed event and returns the receiver's status.
func (w *webhookSender) deliver(payload []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, w.url, bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", SignPayload(payload, time.Now(), w.secrets...))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

// SetWebhookMode switches automatic delivery on, off (held) or to dropping.
func (s *Server) SetWebhookMode(m WebhookMode) error {
	switch m {
	case WebhooksDeliver, WebhooksPause, WebhooksDrop:
		s.hooks.setMode(m)
		return nil
	}
	return fmt.Errorf("unknown webhook mode %q", m)
}

// DeliverEvent sends one stored event again, now, whatever the mode, and returns the
// receiver's status: for tests of duplicate and out-of-order deliveries.
func (s *Server) DeliverEvent(id string) (int, error) {
	s.mu.Lock()
	ev := s.findEvent(id)
	s.mu.Unlock()
	if ev == nil {
		return 0, fmt.Errorf("no such event: %s", id)
	}
	if s.hooks.url == "" {
		return 0, fmt.Errorf("no webhook URL configured")
	}
	return s.hooks.deliver(mustJSON(ev))
}

// Events returns the stored events of a type ("" for all), oldest first.
func (s *Server) Events(typ string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []json.RawMessage
	for _, ev := range s.st.Events {
		if matchType(typ, ev.Type) {
			out = append(out, mustJSON(ev))
		}
	}
	return out
}
