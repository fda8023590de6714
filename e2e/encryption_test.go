package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/platform/payloadcodec"
	"github.com/durapay/durapay/schemas"
)

// Whoever reaches Temporal without the payload keys cannot move money: a refund started with
// a clear JSON input (the Temporal CLI, no codec server) fails before anything runs (no Stripe
// refund, no refund row, no ledger posting), and the failure it leaves in Temporal's database
// is encrypted too. The same command through the codec server, with a staff key, refunds:
// what is refused is the missing encryption, not the input.
func TestRefundStartedWithoutTheKeysIsRefused(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	paymentID := e.payFor(t, &e.a, "clear-"+t.Name(), 4000, "usd", "pm_card_visa")
	ledger := e.ledgerOfPayment(t, paymentID)
	// A failure window of a second lets the refund that is accepted finish within the test.
	refund := func(key string) (refundID, workflowID string, args []string) {
		refundID = schemas.RefundID(e.a.ID, key)
		workflowID = schemas.RefundWorkflowID(e.a.ID, refundID)
		in, err := json.Marshal(schemas.RefundInput{RefundID: refundID, MerchantID: e.a.ID, PaymentID: paymentID,
			IdempotencyKey: key, RequestHash: "by-hand", Amount: 1000, Policy: schemas.RefundPolicy{FailureWindow: time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return refundID, workflowID, []string{"workflow", "start", "--address", e.stack.TemporalAddress, "--task-queue", schemas.TaskQueuePayments,
			"--type", schemas.RefundWorkflowName, "--workflow-id", workflowID, "--input", string(in)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	forgedID, forgedWorkflow, args := refund("clear-" + t.Name())
	e.runCLI(t, args...)
	err := e.temporal.GetWorkflow(ctx, forgedWorkflow, "").Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !strings.Contains(appErr.Error(), payloadcodec.ErrNotEncrypted.Error()) {
		t.Errorf("the refund started in clear ended with %v; want it failed on its input: %v", err, payloadcodec.ErrNotEncrypted)
	}
	desc, err := e.temporal.DescribeWorkflowExecution(ctx, forgedWorkflow, "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Errorf("the refund started in clear is %s, want failed", st)
	}
	if n := e.stripeRequestsOf(forgedWorkflow); n != 0 {
		t.Errorf("Stripe got %d requests for the refund started in clear", n)
	}
	if n := e.count(t, `SELECT count(*) FROM refunds WHERE id = $1`, forgedID); n != 0 {
		t.Errorf("the refund started in clear has %d rows", n)
	}
	if after := e.ledgerOfPayment(t, paymentID); after != ledger {
		t.Errorf("the ledger of the payment moved: %s, was %s", after, ledger)
	}

	var failed *historypb.WorkflowExecutionFailedEventAttributes
	it := e.temporal.GetWorkflowHistory(ctx, forgedWorkflow, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enums.EVENT_TYPE_MARKER_RECORDED:
			t.Errorf("the refund started in clear ran an activity: event %d %s", ev.GetEventId(), ev.GetEventType())
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
			failed = ev.GetWorkflowExecutionFailedEventAttributes()
		}
	}
	if failed == nil {
		t.Fatal("the refund started in clear did not fail")
	}
	// As Temporal stores it: no message, no stack trace, only ciphertext that the keys open.
	f := failed.GetFailure()
	raw, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if f.GetMessage() != "Encoded failure" || f.GetStackTrace() != "" || strings.Contains(string(raw), payloadcodec.ErrNotEncrypted.Error()) ||
		string(f.GetEncodedAttributes().GetMetadata()[converter.MetadataEncoding]) != payloadcodec.EncodingEncrypted {
		t.Errorf("the stored failure is readable without the keys: %v", f)
	}
	if msg := payloadcodec.FailureConverter(e.keys).FailureToError(f).Error(); !strings.Contains(msg, payloadcodec.ErrNotEncrypted.Error()) {
		t.Errorf("the stored failure, decoded with the keys, reads %q", msg)
	}

	refundID, workflowID, args := refund("codec-" + t.Name())
	e.runCLI(t, append(args, "--codec-endpoint", e.apiURL+"/codec", "--codec-auth", "Bearer "+e.staff.Key)...)
	var done schemas.Refund
	if err := e.temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, &done); err != nil || done.ID != refundID || done.Status != schemas.RefundSucceeded {
		t.Fatalf("the refund started through the codec server: %+v %v", done, err)
	}
	if n := e.stripeRequestsOf(workflowID); n == 0 {
		t.Error("the refund started through the codec server never reached Stripe")
	}
}

// Nor can they decide for an operator: on a payment parked in needs_attention, the decision
// sent in clear as an update is rejected (and the rejection's message is encrypted), and as a
// signal is dropped; the payment stays parked, Stripe untouched. The same update through the
// codec server, with a staff key, retries the payment.
func TestDecisionSentWithoutTheKeysIsRefused(t *testing.T) {
	e := requireEnv(t) // not parallel: it injects a fault into the shared sandbox
	if err := e.stack.Sandbox.InjectFault(stripesandbox.Fault{Method: "POST", PathPrefix: "/v1/payment_intents", Mode: stripesandbox.FaultIdempotencyError, Times: 1}); err != nil {
		t.Fatal(err)
	}
	created := e.call(t, &e.a, "POST", "/v1/payments", "parked-"+t.Name(), visa(3300))
	if created.Status != http.StatusAccepted {
		t.Fatalf("create: %d %s", created.Status, created.Raw)
	}
	id := created.Body["id"].(string)
	workflowID := schemas.PaymentWorkflowID(e.a.ID, id)
	decision := func(name string, command ...string) []string {
		return append(append([]string{"workflow"}, command...), "--address", e.stack.TemporalAddress, "--workflow-id", workflowID,
			"--name", name, "--input", `{"action":"retry","operator":"someone without the keys","reason":"by hand"}`)
	}

	out, err := exec.Command(e.cli, decision(schemas.UpdateOperatorDecision, "update", "execute")...).CombinedOutput()
	// Rejected, and why is encrypted: the CLI, without the keys, reads "Encoded failure".
	if err == nil || !strings.Contains(string(out), "Encoded failure") || strings.Contains(string(out), payloadcodec.ErrNotEncrypted.Error()) {
		t.Errorf("the update sent in clear: %v\n%s", err, out)
	}
	e.runCLI(t, decision(schemas.SignalOperatorDecision, "signal")...)
	e.waitSignalHandled(t, workflowID, schemas.SignalOperatorDecision)
	if admin := e.call(t, &e.staff, "GET", "/v1/admin/payments/"+id, "", nil); admin.Body["attention"] == nil {
		t.Errorf("the decision sent in clear was taken: %s", admin.Raw)
	}
	if n := e.paymentIntentsFor(t, id); n != 0 {
		t.Errorf("after the decisions sent in clear Stripe holds %d PaymentIntents", n)
	}

	e.runCLI(t, append(decision(schemas.UpdateOperatorDecision, "update", "execute"), "--codec-endpoint", e.apiURL+"/codec", "--codec-auth", "Bearer "+e.staff.Key)...)
	e.waitStatus(t, &e.a, id, schemas.PaymentSucceeded, 10*time.Second)
	if n := e.paymentIntentsFor(t, id); n != 1 {
		t.Errorf("Stripe holds %d PaymentIntents, want 1", n)
	}
}

// waitSignalHandled waits until the workflow has handled the last signal of that name: a
// workflow task completed after it.
func (e *stackEnv) waitSignalHandled(t *testing.T, workflowID, name string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		var signaled, completed int64
		it := e.temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return err
			}
			switch {
			case ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == name:
				signaled = ev.GetEventId()
			case ev.GetEventType() == enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				completed = ev.GetEventId()
			}
		}
		if signaled == 0 || completed < signaled {
			return fmt.Errorf("signal %s to %s not handled yet (signal event %d, last completed task %d)", name, workflowID, signaled, completed)
		}
		return nil
	})
}

// Nothing Durapay writes to Temporal is clear (a worker would refuse it): the histories of a
// payment and its refund, made through the API (update arguments, activity inputs and
// results, local activity markers), and the inputs of the workers' schedules.
func TestDurapayWritesOnlyEncryptedPayloads(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	paymentID := e.payFor(t, &e.a, "encrypted-"+t.Name(), 2500, "usd", "pm_card_visa")
	r := e.call(t, &e.a, "POST", "/v1/refunds", "encrypted-refund-"+t.Name(), map[string]any{"payment": paymentID, "amount": 500})
	if r.Status != http.StatusCreated {
		t.Fatalf("refund: %d %s", r.Status, r.Raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, workflowID := range []string{schemas.PaymentWorkflowID(e.a.ID, paymentID), schemas.RefundWorkflowID(e.a.ID, r.Body["id"].(string))} {
		history := &historypb.History{}
		it := e.temporal.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			history.Events = append(history.Events, ev)
		}
		if clear, all := clearPayloads(t, history); clear != 0 || all == 0 {
			t.Errorf("%s: %d of %d payloads clear", workflowID, clear, all)
		}
	}
	for _, id := range []string{schemas.ScheduleStripeEventsBackfill, schemas.ScheduleDailyReport, schemas.ScheduleReconciliation, schemas.ScheduleRetention} {
		desc, err := e.temporal.WorkflowService().DescribeSchedule(ctx, &workflowservice.DescribeScheduleRequest{Namespace: "default", ScheduleId: id})
		if err != nil {
			t.Fatalf("schedule %s: %v", id, err)
		}
		if clear, all := clearPayloads(t, desc.GetSchedule().GetAction().GetStartWorkflow().GetInput()); clear != 0 || all == 0 {
			t.Errorf("schedule %s: %d of %d input payloads clear", id, clear, all)
		}
	}
}

// clearPayloads counts the payloads in msg, and those of them that are not encrypted,
// leaving out those the SDK never encrypts: search attributes and headers.
func clearPayloads(t *testing.T, msg proto.Message) (clear, all int) {
	t.Helper()
	err := proxy.VisitPayloads(context.Background(), msg, proxy.VisitPayloadsOptions{SkipSearchAttributes: true,
		Visitor: func(vpc *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			if _, header := vpc.Parent.(*commonpb.Header); !header {
				for _, p := range ps {
					all++
					if string(p.GetMetadata()[converter.MetadataEncoding]) != payloadcodec.EncodingEncrypted {
						clear++
					}
				}
			}
			return ps, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return clear, all
}

// A process given no payload keys stops at start and says which setting is missing, rather
// than writing payloads and failures to Temporal in clear.
func TestProcessesRefuseToStartWithoutPayloadKeys(t *testing.T) {
	t.Parallel()
	e := requireEnv(t)
	for name, env := range map[string][]string{"frontend-api": e.apiEnv, "workers": e.workerEnv, "notifier": e.notifierEnv} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(e.binDir, name))
			// Nothing listens on port 1: a process that does start reaches no Temporal.
			for _, kv := range append(os.Environ(), append(env, "TEMPORAL_ADDRESS=127.0.0.1:1")...) {
				if !strings.HasPrefix(kv, "TEMPORAL_PAYLOAD_KEYS=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("%s started without TEMPORAL_PAYLOAD_KEYS:\n%s", name, out)
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(string(out), "TEMPORAL_PAYLOAD_KEYS is empty") ||
				!strings.Contains(string(out), "TEMPORAL_ALLOW_CLEAR_PAYLOADS=true") {
				t.Fatalf("%s without TEMPORAL_PAYLOAD_KEYS: %v\n%s", name, err, out)
			}
		})
	}
}

// runCLI runs the Temporal CLI and fails the test if it fails.
func (e *stackEnv) runCLI(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(e.cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("temporal %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// stripeRequestsOf counts the requests the sandbox got under a workflow's idempotency keys
// (the workflow ID and a step).
func (e *stackEnv) stripeRequestsOf(workflowID string) int {
	n := 0
	for _, r := range e.stack.Sandbox.Requests() {
		if strings.HasPrefix(r.IdempotencyKey, workflowID+"/") {
			n++
		}
	}
	return n
}

// count runs a SELECT count(*).
func (e *stackEnv) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
