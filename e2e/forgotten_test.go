package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/stripe/stripe-go/v76"

	"github.com/durapay/durapay/internal/platform/payloadcodec"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
)

// A create retried after everything that remembered it is gone, but Postgres: its workflow
// deleted from Temporal (namespace retention), its saved answer pruned, and its Stripe
// idempotency key forgotten (Stripe's 24 hours). The same refund comes back, Stripe holds
// one, and the ledger is unchanged; a new run of the workflow (started by anything else)
// finds the refund at Stripe instead of making a second.
func TestRefundRetriedAfterItsWorkflowAndKeyAreGone(t *testing.T) {
	e := requireEnv(t) // not parallel: the sandbox forgets every test's idempotency keys
	id := e.payFor(t, &e.a, "forgotten-"+t.Name(), 5000, "usd", "pm_card_visa")
	key := "forgotten-refund-" + t.Name()
	body := map[string]any{"payment": id, "amount": 1500}
	first := e.call(t, &e.a, "POST", "/v1/refunds", key, body)
	if first.Status != http.StatusCreated || first.Body["status"] != "succeeded" {
		t.Fatalf("refund: %d %s", first.Status, first.Raw)
	}
	refundID := first.Body["id"].(string)
	workflowID := schemas.RefundWorkflowID(e.a.ID, refundID)
	var in schemas.RefundInput
	e.workflowInput(t, workflowID, &in)
	ledger := e.ledgerOfPayment(t, id)
	e.forgetEverythingBut(t, workflowID, e.a.ID, key)

	again := e.call(t, &e.a, "POST", "/v1/refunds", key, body)
	if n := e.stripeRefunds(t, id); n != 1 {
		t.Fatalf("after the retry Stripe holds %d refunds of the payment, want 1", n)
	}
	if again.Status != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" || again.Body["id"] != refundID || again.Body["amount"] != 1500.0 {
		t.Fatalf("the retry: %d %s; want the refund", again.Status, again.Raw)
	}
	if other := e.call(t, &e.a, "POST", "/v1/refunds", key, map[string]any{"payment": id, "amount": 1600}); other.errorField("code") != "idempotency_key_reused" {
		t.Fatalf("the key with another body: %d %s", other.Status, other.Raw)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := e.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: schemas.TaskQueuePayments},
		schemas.RefundWorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	var rerun schemas.Refund
	if err := run.Get(ctx, &rerun); err != nil || rerun.ID != refundID || rerun.Status != schemas.RefundSucceeded {
		t.Fatalf("a new run of the refund: %+v %v", rerun, err)
	}
	if n := e.stripeRefunds(t, id); n != 1 {
		t.Fatalf("Stripe holds %d refunds of the payment, want 1", n)
	}
	if after := e.ledgerOfPayment(t, id); after != ledger {
		t.Fatalf("the ledger moved: %s, was %s", after, ledger)
	}
	if p := e.call(t, &e.a, "GET", "/v1/payments/"+id, "", nil); p.Body["amount_refunded"] != 1500.0 {
		t.Fatalf("payment after the retries: %s", p.Raw)
	}
}

// The same for an onboarding: the retried sign-up answers the merchant as it is, and a new
// run of its workflow keeps its one Connect account.
func TestOnboardingRetriedAfterItsWorkflowAndKeyAreGone(t *testing.T) {
	e := requireEnv(t) // not parallel: the sandbox forgets every test's idempotency keys
	key := "forgotten-onboarding-" + t.Name()
	body := map[string]any{"legal_name": "Forgetful Ltd", "country": "GB", "contact_email": "ops@forgetful.example",
		"contact_phone": "+44 20 7946 0001", "business_type": "company"}
	first := e.call(t, &e.staff, "POST", "/v1/merchants", key, body)
	if first.Status != http.StatusCreated || first.Body["stripe_account"] == nil {
		t.Fatalf("create: %d %s", first.Status, first.Raw)
	}
	id, acct := first.Body["merchant"].(string), first.Body["stripe_account"].(string)
	workflowID := schemas.OnboardingWorkflowID(id)
	var in schemas.OnboardingInput
	e.workflowInput(t, workflowID, &in)
	e.forgetEverythingBut(t, workflowID, "staff:"+e.staffKeyID(t), key)

	again := e.call(t, &e.staff, "POST", "/v1/merchants", key, body)
	if again.Status != http.StatusCreated || again.Header.Get("Idempotent-Replayed") != "true" || again.Body["merchant"] != id || again.Body["stripe_account"] != acct {
		t.Fatalf("the retry: %d %s; want the merchant with its account %s", again.Status, again.Raw, acct)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflowID, TaskQueue: schemas.TaskQueuePayments},
		schemas.OnboardingWorkflowName, in); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		r := e.call(t, &e.staff, "GET", "/v1/merchants/"+id, "", nil)
		if links, _ := r.Body["links_issued"].(float64); links < 1 || r.Body["stripe_account"] != acct {
			return fmt.Errorf("merchant after a new run: %s", r.Raw)
		}
		return nil
	})
	if n := e.connectAccountsOf(t, id); n != 1 {
		t.Fatalf("Stripe holds %d Connect accounts of the merchant, want 1", n)
	}
	if err := e.temporal.TerminateWorkflow(ctx, workflowID, "", "test over"); err != nil {
		t.Fatal(err)
	}
}

// workflowInput decodes the input a workflow was started with.
func (e *stackEnv) workflowInput(t *testing.T, workflowID string, into any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := e.temporal.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	payloads := ev.GetWorkflowExecutionStartedEventAttributes().GetInput()
	if err := payloadcodec.DataConverter(e.keys).FromPayloads(payloads, into); err != nil {
		t.Fatal(err)
	}
}

// forgetEverythingBut leaves a create's outcome in Postgres alone: its workflow is deleted
// from Temporal, its saved answer pruned, and Stripe forgets every idempotency key.
func (e *stackEnv) forgetEverythingBut(t *testing.T, workflowID, principal, idempotencyKey string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	e.deleteWorkflow(t, workflowID)
	// A create saves no answer (its resource is its answer); any saved one is pruned too.
	if _, err := e.pool.Exec(ctx, `DELETE FROM idempotency_records WHERE principal = $1 AND key = $2`, principal, idempotencyKey); err != nil {
		t.Fatalf("prune the saved answer: %v", err)
	}
	e.stack.Sandbox.ForgetIdempotencyKeys()
}

// deleteWorkflow removes a workflow from Temporal as the namespace's retention does once it
// has closed: terminated if it still runs, then deleted.
func (e *stackEnv) deleteWorkflow(t *testing.T, workflowID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	// A closed workflow answers NotFound to a termination.
	if err := e.temporal.TerminateWorkflow(ctx, workflowID, "", "test: as if namespace retention removed it"); err != nil {
		var notFound *serviceerror.NotFound
		if !errors.As(err, &notFound) {
			t.Fatal(err)
		}
	}
	// Deletion is asynchronous (tens of seconds for a workflow with timers), and the dev
	// server may drop a request made while the termination is still being recorded: ask
	// until it is gone.
	eventually(t, 90*time.Second, func() error {
		time.Sleep(2 * time.Second)
		d, err := e.temporal.DescribeWorkflowExecution(ctx, workflowID, "")
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return nil
		}
		if _, err := e.temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflowID}}); err != nil && !errors.As(err, &notFound) {
			return err
		}
		return fmt.Errorf("workflow %s not deleted yet (%v)", workflowID, d.GetWorkflowExecutionInfo().GetStatus())
	})
}

// ledgerOfPayment sums up the ledger of a payment: its transactions and postings.
func (e *stackEnv) ledgerOfPayment(t *testing.T, paymentID string) string {
	t.Helper()
	var transactions, postings, debits int64
	if err := e.pool.QueryRow(context.Background(), `
		SELECT count(DISTINCT t.id), count(p.id), coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0)
		FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id WHERE t.payment_id = $1`, paymentID).
		Scan(&transactions, &postings, &debits); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d transactions, %d postings, %d debited", transactions, postings, debits)
}

// connectAccountsOf counts the sandbox's Connect accounts made for a merchant.
func (e *stackEnv) connectAccountsOf(t *testing.T, merchantID string) int {
	t.Helper()
	sc := stripeclient.New(stripeclient.Config{SecretKey: "sk_test_e2e", APIBase: e.stack.SandboxURL, Timeout: 5 * time.Second})
	it := sc.Accounts.List(&stripe.AccountListParams{})
	n := 0
	for it.Next() {
		if it.Account().Metadata[schemas.StripeMetadataMerchantID] == merchantID {
			n++
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// staffKeyID is the ID of the suite's staff key, as idempotency records name its principal.
func (e *stackEnv) staffKeyID(t *testing.T) string {
	t.Helper()
	var id string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM api_keys WHERE key_hash = sha256($1::bytea)`, e.staff.Key).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
