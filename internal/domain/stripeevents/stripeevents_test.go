package stripeevents_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/schemas"
)

const payload = `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1700000000,"api_version":"2023-10-16",` +
	`"data":{"object":{"id":"pi_1","object":"payment_intent","metadata":{"durapay_workflow_id":"payment/mer_a/pay_1"}}}}`

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	v := stripeevents.Verifier{Secrets: []string{"whsec_new", "whsec_old"}, Tolerance: 300 * time.Second, Now: func() time.Time { return now }}
	body := []byte(payload)
	tests := []struct {
		name   string
		body   []byte
		header string
		ok     bool
	}{
		{"valid", body, stripesandbox.SignPayload(body, now, "whsec_new"), true},
		{"signed with the old secret during rotation", body, stripesandbox.SignPayload(body, now, "whsec_old"), true},
		{"a valid second v1 signature", body, stripesandbox.SignPayload(body, now, "whsec_unknown", "whsec_new"), true},
		{"299 s old", body, stripesandbox.SignPayload(body, now.Add(-299*time.Second), "whsec_new"), true},
		{"301 s old", body, stripesandbox.SignPayload(body, now.Add(-301*time.Second), "whsec_new"), false},
		{"301 s in the future", body, stripesandbox.SignPayload(body, now.Add(301*time.Second), "whsec_new"), false},
		{"forged: another secret", body, stripesandbox.SignPayload(body, now, "whsec_attacker"), false},
		{"body changed after signing", []byte(strings.Replace(payload, "pi_1", "pi_2", 1)), stripesandbox.SignPayload(body, now, "whsec_new"), false},
		{"no header", body, "", false},
		{"no timestamp", body, "v1=abcdef", false},
		{"malformed timestamp", body, "t=soon,v1=abcdef", false},
		{"no v1 signature", body, "t=1800000000,v0=abcdef", false},
	}
	for _, tt := range tests {
		err := v.Verify(tt.body, tt.header)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, stripeevents.ErrSignature) {
			t.Errorf("%s: %v does not wrap ErrSignature", tt.name, err)
		}
	}
	if err := (stripeevents.Verifier{Tolerance: time.Minute, Now: time.Now}).Verify(body, stripesandbox.SignPayload(body, time.Now(), "x")); err == nil {
		t.Error("verified without any secret configured")
	}
}

// stripe-go verifies the signature over the last t= of a header, while the age is checked
// on the first: an old, correctly signed event behind a fresh t= must not pass as fresh.
func TestVerifyRefusesSeveralTimestamps(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	v := stripeevents.Verifier{Secrets: []string{"whsec_new"}, Tolerance: 300 * time.Second, Now: func() time.Time { return now }}
	body := []byte(payload)
	old := stripesandbox.SignPayload(body, now.Add(-24*time.Hour), "whsec_new")
	fresh := stripesandbox.SignPayload(body, now, "whsec_new")
	for name, header := range map[string]string{
		"a fresh t= before an old signed one": "t=1800000000," + old,
		"an old signed t= before a fresh one": old + ",t=1800000000",
		"the same fresh t= twice":             "t=1800000000," + fresh,
	} {
		err := v.Verify(body, header)
		if !errors.Is(err, stripeevents.ErrSignature) || !strings.Contains(err.Error(), "more than one timestamp") {
			t.Errorf("%s: Verify(%q) = %v, want ErrSignature: more than one timestamp", name, header, err)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	ev, err := stripeevents.Parse([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	want := stripeevents.Event{ID: "evt_1", Type: "payment_intent.succeeded", Created: 1_700_000_000, APIVersion: "2023-10-16",
		ObjectID: "pi_1", WorkflowID: "payment/mer_a/pay_1"}
	if ev != want {
		t.Fatalf("Parse = %+v, want %+v", ev, want)
	}
	for _, bad := range []string{`{}`, `not json`, `{"id":"evt_1","object":"charge","type":"x","data":{"object":{"id":"ch_1"}}}`} {
		if _, err := stripeevents.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

// signals records SignalWorkflow calls; unknownWorkflow makes the call fail as Temporal does
// for a closed or missing workflow, and failNext as for an unreachable server.
type signals struct {
	mu              sync.Mutex
	sent            []schemas.StripeEventSignal
	unknownWorkflow bool
	failNext        bool
}

func (s *signals) SignalWorkflow(_ context.Context, workflowID, _, name string, arg any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext {
		s.failNext = false
		return errors.New("connection refused")
	}
	if s.unknownWorkflow {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	if name != schemas.SignalStripeEvent || workflowID != "payment/mer_a/pay_1" {
		return errors.New("unexpected signal " + name + " to " + workflowID)
	}
	s.sent = append(s.sent, arg.(schemas.StripeEventSignal))
	return nil
}

func TestDeliverOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sig := &signals{}
	r := stripeevents.NewRouter(pgtest.NewPool(t), sig)
	ev, _ := stripeevents.Parse([]byte(payload))

	sig.failNext = true
	if _, err := r.Deliver(ctx, ev, stripeevents.SourceWebhook); err == nil {
		t.Fatal("a failed signal was reported delivered")
	}
	steps := []stripeevents.Outcome{stripeevents.Delivered, stripeevents.Duplicate, stripeevents.Duplicate}
	for i, want := range steps {
		got, err := r.Deliver(ctx, ev, stripeevents.SourceWebhook)
		if err != nil || got != want {
			t.Fatalf("delivery %d: %s %v, want %s", i+1, got, err, want)
		}
	}
	if len(sig.sent) != 1 || sig.sent[0] != (schemas.StripeEventSignal{EventID: "evt_1", Type: "payment_intent.succeeded", Created: 1_700_000_000, ObjectID: "pi_1"}) {
		t.Fatalf("signals sent: %+v, want exactly one for evt_1", sig.sent)
	}

	other := ev
	other.ID, other.WorkflowID = "evt_2", ""
	if got, err := r.Deliver(ctx, other, stripeevents.SourceBackfill); err != nil || got != stripeevents.NotOurs {
		t.Fatalf("event of an object Durapay did not create: %s %v", got, err)
	}
	sig.unknownWorkflow = true
	late := ev
	late.ID = "evt_3"
	if got, err := r.Deliver(ctx, late, stripeevents.SourceWebhook); err != nil || got != stripeevents.WorkflowClosed {
		t.Fatalf("event for a finished workflow: %s %v", got, err)
	}
}
