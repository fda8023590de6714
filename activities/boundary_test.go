package activities_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/internal/platform/envelope"
	"github.com/durapay/durapay/internal/platform/keyring"
	"github.com/durapay/durapay/internal/platform/pgtest"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
)

// newActivityEnv runs activities as a worker does, through activities.WorkerInterceptors;
// inner interceptors sit between those and the activity.
func newActivityEnv(inner ...interceptor.WorkerInterceptor) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: append(activities.WorkerInterceptors(), inner...)})
	return env
}

// execute registers fn under name and runs it the way workflows run it, then returns its
// error as workflow code reads it. A worker converts an activity's error to a Temporal
// failure (the history's) and back: TestActivityEnvironment does so for regular activities,
// but hands a local activity's error back as returned, so that conversion is made here.
func execute(env *testsuite.TestActivityEnvironment, local bool, name string, fn any, args ...any) error {
	env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	if !local {
		_, err := env.ExecuteActivity(name, args...)
		return err
	}
	_, err := env.ExecuteLocalActivity(fn, args...)
	var actErr *temporal.ActivityError
	if !errors.As(err, &actErr) {
		return err
	}
	fc := temporal.GetDefaultFailureConverter()
	return fc.FailureToError(fc.ErrorToFailure(actErr.Unwrap()))
}

// Whatever wraps a classified error, the workflow gets the classification: type,
// non-retryable flag, details and retry delay, under the whole message.
func TestWrappedClassificationReachesTheWorkflow(t *testing.T) {
	t.Parallel()
	declined := schemas.StripeFailure{HTTPStatus: 402, Type: "card_error", Code: "card_declined", DeclineCode: "insufficient_funds"}
	tests := []struct {
		name          string
		err           error
		wantType      string
		wantRetryable bool
		wantDelay     time.Duration
		wantMessage   string
		wantDetails   *schemas.StripeFailure
	}{
		{"non-retryable with details, wrapped",
			fmt.Errorf("charge pay_1: %w", temporal.NewNonRetryableApplicationError("card declined", schemas.ErrTypeStripeCard, errors.New("402"), declined)),
			schemas.ErrTypeStripeCard, false, 0, "charge pay_1: card declined", &declined},
		{"retry delay, wrapped twice",
			fmt.Errorf("reconcile: %w", fmt.Errorf("list: %w", temporal.NewApplicationErrorWithOptions("slow down", schemas.ErrTypeStripeRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: 3 * time.Second}))),
			schemas.ErrTypeStripeRateLimited, true, 3 * time.Second, "reconcile: list: slow down", nil},
		{"not wrapped",
			temporal.NewNonRetryableApplicationError("delivery gone", schemas.ErrTypeWebhookDeliveryMissing, nil),
			schemas.ErrTypeWebhookDeliveryMissing, false, 0, "delivery gone", nil},
		{"no classification to keep",
			fmt.Errorf("write: %w", errors.New("connection reset")),
			"wrapError", true, 0, "write: connection reset", nil},
	}
	for _, tt := range tests {
		for _, local := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/local=%v", tt.name, local), func(t *testing.T) {
				t.Parallel()
				env := newActivityEnv()
				fail := func(context.Context) error { return tt.err }
				var appErr *temporal.ApplicationError
				if !errors.As(execute(env, local, "test.Fail", fail), &appErr) {
					t.Fatal("not an ApplicationError")
				}
				if appErr.Type() != tt.wantType || appErr.NonRetryable() == tt.wantRetryable || appErr.NextRetryDelay() != tt.wantDelay {
					t.Errorf("got %s retryable=%v delay=%v, want %s retryable=%v delay=%v",
						appErr.Type(), !appErr.NonRetryable(), appErr.NextRetryDelay(), tt.wantType, tt.wantRetryable, tt.wantDelay)
				}
				if appErr.Message() != tt.wantMessage {
					t.Errorf("message %q, want %q", appErr.Message(), tt.wantMessage)
				}
				if tt.wantDetails != nil {
					var got schemas.StripeFailure
					if err := appErr.Details(&got); err != nil || got != *tt.wantDetails {
						t.Errorf("details %+v (%v), want %+v", got, err, *tt.wantDetails)
					}
				}
			})
		}
	}
}

// wrapErrors adds context to every error an activity returns, as an activity's own
// fmt.Errorf("...: %w", err) does.
type wrapErrors struct {
	interceptor.WorkerInterceptorBase
}

func (*wrapErrors) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &wrapErrorsInbound{interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type wrapErrorsInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (w *wrapErrorsInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := w.Next.ExecuteActivity(ctx, in)
	if err != nil {
		err = fmt.Errorf("with the activity's context: %w", err)
	}
	return res, err
}

// refusingWriter is Kafka refusing an event for good. Publishing classifies no error of
// its own yet; this is how a classified one would reach the activity, which wraps it.
type refusingWriter struct{}

const errTypeEventRefused = "EventRefused"

func (refusingWriter) WriteMessages(context.Context, ...kafka.Message) error {
	return temporal.NewNonRetryableApplicationError("message too large", errTypeEventRefused, nil)
}

// Every family of activities, run as workflows run it (local or regular) through the
// worker's interceptors, hands the workflow its non-retryable errors as non-retryable and
// with their type, however wrapped: each activity fails as it would in production, and
// wrapErrors adds context around what it returns.
func TestEveryActivityFamilyKeepsItsClassificationWhenWrapped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		family   string
		local    bool // as the workflows run it
		name     string
		setup    func(t *testing.T) (fn any, args []any)
		wantType string
	}{
		{"Stripe payments", true, schemas.CreatePaymentIntentName, func(t *testing.T) (any, []any) {
			_, cfg := newSandbox(t)
			s := activities.NewStripe(stripeclient.New(cfg))
			return s.CreatePaymentIntent, []any{createRequest("pay_wrapped", "pm_card_chargeDeclinedInsufficientFunds")}
		}, schemas.ErrTypeStripeCard},
		{"finance", false, schemas.ReconcileName, func(t *testing.T) (any, []any) {
			sb, cfg := newSandbox(t)
			refuseKeys(t, sb, "/v1/balance_transactions")
			return activities.NewFinance(pgtest.NewPool(t), nil, stripeclient.New(cfg)).Reconcile, []any{"2024-03-01"}
		}, schemas.ErrTypeStripeIdempotency},
		{"Stripe events backfill", false, schemas.BackfillStripeEventsName, func(t *testing.T) (any, []any) {
			sb, cfg := newSandbox(t)
			refuseKeys(t, sb, "/v1/events")
			pool := pgtest.NewPool(t)
			b := activities.NewStripeEvents(stripeclient.New(cfg), stripeevents.NewRouter(pool, refuseSignals{t}), pool)
			return b.BackfillStripeEvents, []any{schemas.StripeEventsBackfillInput{Lookback: time.Hour, Overlap: time.Minute}}
		}, schemas.ErrTypeStripeIdempotency},
		{"onboarding and customers", true, schemas.CreateCustomerName, func(t *testing.T) (any, []any) {
			sb, cfg := newSandbox(t)
			refuseKeys(t, sb, "/v1/customers")
			keys := newKeyring(t)
			o := activities.NewOnboarding(pgtest.NewPool(t), stripeclient.New(cfg), keys)
			return o.CreateCustomer, []any{schemas.CreateCustomerRequest{IdempotencyKey: "customer/mer_a/cust_wrapped/create_customer",
				Input: customerInput(t, keys, "mer_a", "cust_wrapped")}}
		}, schemas.ErrTypeStripeIdempotency},
		{"store", true, schemas.ReserveRefundName, func(t *testing.T) (any, []any) {
			return activities.NewStore(pgtest.NewPool(t)).ReserveRefund, []any{schemas.ReserveRefundRequest{
				Input:      schemas.RefundInput{RefundID: "rfd_none", MerchantID: "mer_none", PaymentID: "pay_none", Amount: 100, IdempotencyKey: "k", RequestHash: "h"},
				WorkflowID: "refund/mer_none/rfd_none", At: time.Now()}}
		}, schemas.ErrTypePaymentNotCaptured},
		{"webhooks", false, schemas.DeliverWebhookName, func(t *testing.T) (any, []any) {
			return activities.NewWebhooks(pgtest.NewPool(t), newKeyring(t), &http.Client{Timeout: time.Second}).Deliver, []any{"whd_missing", 1}
		}, schemas.ErrTypeWebhookDeliveryMissing},
		{"events", false, schemas.PublishEventName, func(t *testing.T) (any, []any) {
			return activities.NewEvents(refusingWriter{}, pgtest.NewPool(t)).PublishEvent, []any{schemas.PublishEventRequest{Topic: schemas.TopicPayments, Key: "pay_1",
				Event: schemas.Event{ID: "evt_1", Type: schemas.EventPaymentSucceeded, SchemaVersion: 1}}}
		}, errTypeEventRefused},
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			t.Parallel()
			env := newActivityEnv(&wrapErrors{})
			fn, args := tt.setup(t)
			err := execute(env, tt.local, tt.name, fn, args...)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("%s: %v, not an ApplicationError", tt.name, err)
			}
			if appErr.Type() != tt.wantType || !appErr.NonRetryable() {
				t.Fatalf("%s: %s retryable=%v, want a non-retryable %s", tt.name, appErr.Type(), !appErr.NonRetryable(), tt.wantType)
			}
			if f, _, ok := activities.StripeFailureOf(err); strings.HasPrefix(tt.wantType, "Stripe") && (!ok || f.RequestID == "") {
				t.Errorf("%s: what Stripe said is lost: %+v", tt.name, f)
			}
		})
	}
}

// newSandbox serves a fresh Stripe sandbox for t and returns it and a client configuration
// for it.
func newSandbox(t *testing.T) (*stripesandbox.Server, stripeclient.Config) {
	t.Helper()
	sb, err := stripesandbox.New(stripesandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); _ = sb.Close() })
	return sb, stripeclient.Config{SecretKey: "sk_test_activities", APIBase: srv.URL, Timeout: 5 * time.Second}
}

// refuseKeys makes Stripe answer every request under path with an idempotency_error: what
// no retry can fix.
func refuseKeys(t *testing.T, sb *stripesandbox.Server, path string) {
	t.Helper()
	if err := sb.InjectFault(stripesandbox.Fault{PathPrefix: path, Mode: stripesandbox.FaultIdempotencyError, Times: -1}); err != nil {
		t.Fatal(err)
	}
}

func newKeyring(t *testing.T) *keyring.Keyring {
	t.Helper()
	spec, err := keyring.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// customerInput is the merchant's request for a customer, its profile sealed as the API
// seals it.
func customerInput(t *testing.T, keys *keyring.Keyring, merchantID, customerID string) schemas.CustomerInput {
	t.Helper()
	sealed, err := envelope.Seal(keys, schemas.CustomerProfile{Email: "ada@example.com", Name: "Ada Lovelace"}, schemas.CustomerPurpose(customerID))
	if err != nil {
		t.Fatal(err)
	}
	return schemas.CustomerInput{CustomerID: customerID, MerchantID: merchantID, SealedProfile: sealed,
		Metadata: map[string]string{}, IdempotencyKey: "k_" + customerID, RequestHash: "h_" + customerID}
}
