package stripesandbox_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/durapay/durapay/devstack/stripesandbox"
	"github.com/durapay/durapay/internal/platform/stripeclient"
)

const testKey = "sk_test_sandbox_tests"

func start(t *testing.T, cfg stripesandbox.Config) (*stripesandbox.Server, *client.API, string) {
	t.Helper()
	sb, err := stripesandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(func() {
		srv.Close()
		if err := sb.Close(); err != nil {
			t.Error(err)
		}
	})
	return sb, stripeclient.New(stripeclient.Config{SecretKey: testKey, APIBase: srv.URL, Timeout: 5 * time.Second}), srv.URL
}

func newPI(amount int64, pm, key string) *stripe.PaymentIntentParams {
	p := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(amount),
		Currency:           stripe.String("usd"),
		PaymentMethod:      stripe.String(pm),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Confirm:            stripe.Bool(true),
	}
	p.AddMetadata("durapay_payment_id", key)
	if key != "" {
		p.SetIdempotencyKey(key)
	}
	return p
}

func stripeErr(t *testing.T, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T), want *stripe.Error", err, err)
	}
	return se
}

func TestSucceededPaymentAndIdempotentReplay(t *testing.T) {
	t.Parallel()
	_, sc, _ := start(t, stripesandbox.Config{})
	pi, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	if pi.Status != stripe.PaymentIntentStatusSucceeded || pi.AmountReceived != 2000 || pi.LatestCharge == nil {
		t.Fatalf("pi = %+v, want succeeded with 2000 received and a charge", pi)
	}
	again, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != pi.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay gave %s (replayed header %q), want %s replayed", again.ID, again.LastResponse.Header.Get("Idempotent-Replayed"), pi.ID)
	}
	found := sc.PaymentIntents.Search(&stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{Query: "metadata['durapay_payment_id']:'k1'"}})
	n := 0
	for found.Next() {
		n++
	}
	if err := found.Err(); err != nil || n != 1 {
		t.Fatalf("search found %d PaymentIntents (err %v), want exactly 1", n, err)
	}

	txns := sc.BalanceTransactions.List(&stripe.BalanceTransactionListParams{Source: &pi.LatestCharge.ID})
	if !txns.Next() {
		t.Fatalf("no balance transaction for the charge: %v", txns.Err())
	}
	txn := txns.BalanceTransaction()
	if wantFee := int64(88); txn.Amount != 2000 || txn.Fee != wantFee || txn.Net != 2000-wantFee { // 2.9 % of 2000 = 58, + 30
		t.Errorf("balance transaction = amount %d fee %d net %d, want 2000 / %d / %d", txn.Amount, txn.Fee, txn.Net, wantFee, 2000-wantFee)
	}
}

func TestIdempotencyKeyRules(t *testing.T) {
	t.Parallel()
	_, sc, url := start(t, stripesandbox.Config{})
	first, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "k2"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("same key, different parameters", func(t *testing.T) {
		_, err := sc.PaymentIntents.New(newPI(2001, "pm_card_visa", "k2"))
		if se := stripeErr(t, err); se.Type != stripe.ErrorTypeIdempotency || se.HTTPStatusCode != 400 {
			t.Fatalf("got %s %d, want idempotency_error 400", se.Type, se.HTTPStatusCode)
		}
	})
	t.Run("keys are scoped per API key", func(t *testing.T) {
		other := stripeclient.New(stripeclient.Config{SecretKey: "sk_test_another_account", APIBase: url, Timeout: 5 * time.Second})
		pi, err := other.PaymentIntents.New(newPI(2000, "pm_card_visa", "k2"))
		if err != nil {
			t.Fatal(err)
		}
		if pi.ID == first.ID {
			t.Fatal("another API key's request with the same key replayed the first key's result")
		}
	})
	t.Run("validation errors are not saved", func(t *testing.T) {
		bad := newPI(2000, "pm_card_visa", "k3")
		bad.Currency = nil
		_, err := sc.PaymentIntents.New(bad)
		if se := stripeErr(t, err); se.Code != "parameter_missing" {
			t.Fatalf("code = %s, want parameter_missing", se.Code)
		}
		if _, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "k3")); err != nil {
			t.Fatalf("corrected retry with the same key failed: %v", err)
		}
	})
	t.Run("forgotten keys execute again", func(t *testing.T) {
		sb, sc, _ := start(t, stripesandbox.Config{})
		before, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "k5"))
		if err != nil {
			t.Fatal(err)
		}
		if n := sb.ForgetIdempotencyKeys(); n != 1 {
			t.Fatalf("forgot %d results, want 1", n)
		}
		after, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "k5"))
		if err != nil || after.ID == before.ID {
			t.Fatalf("the same key after Stripe forgot it: %v %v; want a second PaymentIntent", after, err)
		}
	})
	t.Run("unknown parameters are refused", func(t *testing.T) {
		p := newPI(2000, "pm_card_visa", "k4")
		p.AddExtra("surprise", "1")
		_, err := sc.PaymentIntents.New(p)
		if se := stripeErr(t, err); se.Code != "parameter_unknown" || se.Param != "surprise" {
			t.Fatalf("got %s %s, want parameter_unknown surprise", se.Code, se.Param)
		}
	})
}

func TestDeclinesAreSavedAndReplayed(t *testing.T) {
	t.Parallel()
	_, sc, _ := start(t, stripesandbox.Config{})
	tests := []struct{ pm, code, declineCode string }{
		{"pm_card_chargeDeclined", "card_declined", "generic_decline"},
		{"pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"},
		{"pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"},
	}
	for _, tt := range tests {
		_, err := sc.PaymentIntents.New(newPI(1500, tt.pm, "decline-"+tt.pm))
		se := stripeErr(t, err)
		if se.HTTPStatusCode != 402 || se.Type != stripe.ErrorTypeCard || string(se.Code) != tt.code || string(se.DeclineCode) != tt.declineCode {
			t.Fatalf("%s: got %d %s %s %s", tt.pm, se.HTTPStatusCode, se.Type, se.Code, se.DeclineCode)
		}
		if se.PaymentIntent == nil || se.PaymentIntent.Status != stripe.PaymentIntentStatusRequiresPaymentMethod {
			t.Fatalf("%s: error carries PaymentIntent %+v, want one in requires_payment_method", tt.pm, se.PaymentIntent)
		}
		_, err = sc.PaymentIntents.New(newPI(1500, tt.pm, "decline-"+tt.pm))
		if again := stripeErr(t, err); again.PaymentIntent.ID != se.PaymentIntent.ID {
			t.Fatalf("%s: replay created PaymentIntent %s, want %s", tt.pm, again.PaymentIntent.ID, se.PaymentIntent.ID)
		}
	}
	_, err := sc.PaymentIntents.New(newPI(1500, "pm_card_doesNotExist", ""))
	if se := stripeErr(t, err); se.Code != stripe.ErrorCodeResourceMissing || se.Param != "payment_method" {
		t.Fatalf("unknown payment method: got %s %s", se.Code, se.Param)
	}
}

func TestThreeDSecure(t *testing.T) {
	t.Parallel()
	sb, sc, _ := start(t, stripesandbox.Config{})
	for _, succeed := range []bool{true, false} {
		pi, err := sc.PaymentIntents.New(newPI(3000, "pm_card_threeDSecure2Required", ""))
		if err != nil {
			t.Fatal(err)
		}
		if pi.Status != stripe.PaymentIntentStatusRequiresAction || pi.NextAction == nil {
			t.Fatalf("pi = %s next_action %v, want requires_action with a next action", pi.Status, pi.NextAction)
		}
		if err := sb.Authenticate(pi.ID, succeed); err != nil {
			t.Fatal(err)
		}
		got, err := sc.PaymentIntents.Get(pi.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := stripe.PaymentIntentStatusSucceeded
		if !succeed {
			want = stripe.PaymentIntentStatusRequiresPaymentMethod
		}
		if got.Status != want {
			t.Fatalf("after authentication (succeed=%v) status = %s, want %s", succeed, got.Status, want)
		}
	}
	if n := len(sb.Events("payment_intent.requires_action")); n != 2 {
		t.Errorf("%d requires_action events, want 2", n)
	}
}

func TestManualCaptureCancelAndRefunds(t *testing.T) {
	t.Parallel()
	_, sc, _ := start(t, stripesandbox.Config{})
	p := newPI(5000, "pm_card_visa", "")
	p.CaptureMethod = stripe.String("manual")
	pi, err := sc.PaymentIntents.New(p)
	if err != nil {
		t.Fatal(err)
	}
	if pi.Status != stripe.PaymentIntentStatusRequiresCapture || pi.AmountCapturable != 5000 {
		t.Fatalf("pi = %s capturable %d", pi.Status, pi.AmountCapturable)
	}
	_, err = sc.PaymentIntents.Capture(pi.ID, &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(6000)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 {
		t.Fatalf("capturing more than authorized: %d", se.HTTPStatusCode)
	}
	captured, err := sc.PaymentIntents.Capture(pi.ID, &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(4000)})
	if err != nil {
		t.Fatal(err)
	}
	if captured.Status != stripe.PaymentIntentStatusSucceeded || captured.AmountReceived != 4000 {
		t.Fatalf("captured = %s received %d", captured.Status, captured.AmountReceived)
	}
	_, err = sc.PaymentIntents.Cancel(pi.ID, nil)
	if se := stripeErr(t, err); se.Code != stripe.ErrorCodePaymentIntentUnexpectedState {
		t.Fatalf("cancel after capture: code %s", se.Code)
	}

	r1, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(1500)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(3000)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 {
		t.Fatalf("over-refund: status %d", se.HTTPStatusCode)
	}
	r2, err := sc.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID)}) // the rest
	if err != nil {
		t.Fatal(err)
	}
	if r1.Amount+r2.Amount != 4000 || r2.Status != stripe.RefundStatusSucceeded {
		t.Fatalf("refunds %d + %d (%s), want 4000 in all", r1.Amount, r2.Amount, r2.Status)
	}
	refunds := sc.Refunds.List(&stripe.RefundListParams{PaymentIntent: stripe.String(pi.ID)})
	n := 0
	for refunds.Next() {
		n++
	}
	if n != 2 {
		t.Errorf("listed %d refunds, want 2", n)
	}

	hold := newPI(700, "pm_card_visa", "")
	hold.CaptureMethod = stripe.String("manual")
	held, err := sc.PaymentIntents.New(hold)
	if err != nil {
		t.Fatal(err)
	}
	canceled, err := sc.PaymentIntents.Cancel(held.ID, &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")})
	if err != nil || canceled.Status != stripe.PaymentIntentStatusCanceled {
		t.Fatalf("cancel an authorization: %v %v", err, canceled)
	}
}

func TestCustomersEventsAndPagination(t *testing.T) {
	t.Parallel()
	_, sc, _ := start(t, stripesandbox.Config{})
	cus, err := sc.Customers.New(&stripe.CustomerParams{Email: stripe.String("a@example.com"), Name: stripe.String("Ada")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sc.Customers.Get(cus.ID, nil)
	if err != nil || got.Email != "a@example.com" {
		t.Fatalf("customer = %+v, %v", got, err)
	}
	for i := 0; i < 5; i++ {
		if _, err := sc.PaymentIntents.New(newPI(100+int64(i), "pm_card_visa", "")); err != nil {
			t.Fatal(err)
		}
	}
	params := &stripe.EventListParams{Type: stripe.String("payment_intent.succeeded")}
	params.Limit = stripe.Int64(2) // forces the iterator through three pages
	events := sc.Events.List(params)
	var amounts []int64
	for events.Next() {
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(events.Event().Data.Raw, &pi); err != nil {
			t.Fatal(err)
		}
		amounts = append(amounts, pi.Amount)
	}
	if err := events.Err(); err != nil {
		t.Fatal(err)
	}
	want := []int64{104, 103, 102, 101, 100}
	if len(amounts) != len(want) {
		t.Fatalf("events listed amounts %v, want %v (newest first)", amounts, want)
	}
	for i := range want {
		if amounts[i] != want[i] {
			t.Fatalf("events listed amounts %v, want %v (newest first)", amounts, want)
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	sb, sc, _ := start(t, stripesandbox.Config{})

	t.Run("server error executes nothing", func(t *testing.T) {
		if err := sb.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/payment_intents", Mode: stripesandbox.FaultServerError, Times: 1}); err != nil {
			t.Fatal(err)
		}
		_, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "f1"))
		if se := stripeErr(t, err); se.HTTPStatusCode != 500 || se.Type != stripe.ErrorTypeAPI {
			t.Fatalf("got %d %s", se.HTTPStatusCode, se.Type)
		}
		pi, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "f1"))
		if err != nil || pi.LastResponse.Header.Get("Idempotent-Replayed") == "true" {
			t.Fatalf("retry after a 500: %v (replayed %q), want a first execution", err, pi.LastResponse.Header.Get("Idempotent-Replayed"))
		}
	})
	t.Run("dropped after apply, then replayed", func(t *testing.T) {
		if err := sb.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/payment_intents", Mode: stripesandbox.FaultDropAfterApply, Times: 1}); err != nil {
			t.Fatal(err)
		}
		// Go's transport itself resends a POST carrying an Idempotency-Key when a reused
		// connection closes without an answer, so the caller sees either the network error
		// or, already, the replay.
		pi, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "f2"))
		if err != nil {
			var se *stripe.Error
			if errors.As(err, &se) {
				t.Fatalf("want a network error, got Stripe error %v", err)
			}
			pi, err = sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "f2"))
		}
		if err != nil || pi.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("after the drop: %v, want the saved result replayed", err)
		}
		var dropped int
		for _, r := range sb.Requests() {
			if r.IdempotencyKey == "f2" && r.Fault == string(stripesandbox.FaultDropAfterApply) && r.Status == 0 {
				dropped++
			}
		}
		if dropped != 1 {
			t.Fatalf("request log shows %d dropped applications, want 1", dropped)
		}
	})
	t.Run("rate limit and lock timeout", func(t *testing.T) {
		for _, mode := range []stripesandbox.FaultMode{stripesandbox.FaultRateLimit, stripesandbox.FaultLockTimeout} {
			if err := sb.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/payment_intents", Mode: mode, Times: 1}); err != nil {
				t.Fatal(err)
			}
			_, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", ""))
			if se := stripeErr(t, err); se.HTTPStatusCode != 429 || string(se.Code) != string(mode) {
				t.Fatalf("%s: got %d %s", mode, se.HTTPStatusCode, se.Code)
			}
		}
	})
	t.Run("idempotency error", func(t *testing.T) {
		if err := sb.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/payment_intents", Mode: stripesandbox.FaultIdempotencyError, Times: 1}); err != nil {
			t.Fatal(err)
		}
		_, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "f-idem"))
		if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeIdempotency {
			t.Fatalf("got %d %s", se.HTTPStatusCode, se.Type)
		}
		if _, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "f-idem")); err != nil {
			t.Fatalf("the injected error executed nothing, so the key is still free: %v", err)
		}
	})
	t.Run("concurrent request with a key in flight gets 409", func(t *testing.T) {
		if err := sb.InjectFault(stripesandbox.Fault{PathPrefix: "/v1/payment_intents", Mode: stripesandbox.FaultLatency, LatencyMS: 300, Times: 1}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == 1 {
					time.Sleep(100 * time.Millisecond)
				}
				_, errs[i] = sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "f3"))
			}()
		}
		wg.Wait()
		if errs[0] != nil {
			t.Fatalf("slow request failed: %v", errs[0])
		}
		if se := stripeErr(t, errs[1]); se.HTTPStatusCode != 409 {
			t.Fatalf("concurrent request: %d, want 409", se.HTTPStatusCode)
		}
	})
}

func TestWebhooksAreSignedWithEverySecret(t *testing.T) {
	t.Parallel()
	secrets := []string{"whsec_old", "whsec_new"}
	got := make(chan []byte, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, secret := range secrets {
			if _, err := webhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), secret); err != nil {
				t.Errorf("signature with %s: %v", secret, err)
			}
		}
		got <- body
	}))
	defer receiver.Close()
	_, sc, _ := start(t, stripesandbox.Config{WebhookURL: receiver.URL, WebhookSecrets: secrets})
	if _, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "")); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < 3 {
		select {
		case body := <-got:
			var ev stripe.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatal(err)
			}
			seen[string(ev.Type)] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("webhooks received: %v, want payment_intent.created, charge.succeeded and payment_intent.succeeded", seen)
		}
	}
	if !seen["payment_intent.succeeded"] {
		t.Fatalf("webhooks received: %v", seen)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sandbox.json")
	sb, err := stripesandbox.New(stripesandbox.Config{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	sc := stripeclient.New(stripeclient.Config{SecretKey: testKey, APIBase: srv.URL, Timeout: 5 * time.Second})
	pi, err := sc.PaymentIntents.New(newPI(2000, "pm_card_visa", "persisted"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}

	_, sc2, _ := start(t, stripesandbox.Config{StatePath: path})
	got, err := sc2.PaymentIntents.Get(pi.ID, nil)
	if err != nil || got.Status != stripe.PaymentIntentStatusSucceeded {
		t.Fatalf("after restart: %v %v", got, err)
	}
	replayed, err := sc2.PaymentIntents.New(newPI(2000, "pm_card_visa", "persisted"))
	if err != nil || replayed.ID != pi.ID {
		t.Fatalf("idempotent replay after restart: %v, %v", replayed, err)
	}
}
