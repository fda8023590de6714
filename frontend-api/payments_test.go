package main

import (
	"context"

	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/internal/domain/merchants"
	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/schemas"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name       string
		headers    []string
		basicKey   string
		wantStatus int
		wantCode   string
	}{
		{"no key", nil, "", 401, codeAuthenticationRequired},
		{"unknown key", nil, "sk_test_" + strings.Repeat("x", 32), 401, codeAPIKeyInvalid},
		{"basic auth", nil, f.key, 201, ""},
		{"bearer", []string{"Authorization", "Bearer " + f.key}, "", 201, ""},
	}
	for i, tt := range tests {
		r := f.do(t, "POST", "/v1/payments", tt.basicKey, "auth-"+string(rune('a'+i)), visa, tt.headers...)
		if r.status != tt.wantStatus || r.errorCode() != tt.wantCode {
			t.Errorf("%s: %d %q, want %d %q (%s)", tt.name, r.status, r.errorCode(), tt.wantStatus, tt.wantCode, r.raw)
		}
		if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tt.name)
		}
	}
	entry, _ := cacheKeys(merchants.HashKey(f.key))
	cached, err := f.srv.redis.Get(context.Background(), entry).Result()
	if err != nil || !strings.Contains(cached, `"m":"`+f.merchant+`"`) {
		t.Errorf("API key cache holds %q (%v), want the merchant", cached, err)
	}
}

// With Redis down, keys are still checked against Postgres: no outage lets a request in or
// locks merchants out. The rate limiter is blind then: reads go on (they move nothing),
// requests that move money are refused (fail closed).
func TestWithoutRedis(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	down := redisAt(t, "127.0.0.1:1")
	f.srv.keys.redis, f.srv.limiter = down, redis_rate.NewLimiter(down)
	if r := f.do(t, "GET", "/v1/payments/"+schemas.PaymentID(f.merchant, "nothing"), f.key, "", ""); r.status != 404 {
		t.Fatalf("a read with Redis down: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "POST", "/v1/payments", f.key, "no-redis", visa); r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("a payment with Redis down: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "POST", "/v1/payments", "sk_test_wrong", "no-redis-2", visa); r.status != 401 {
		t.Fatalf("invalid key with Redis down: %d", r.status)
	}
	if f.workflows.calls() != 0 {
		t.Fatal("a payment started while the limiter was blind")
	}
}

// Every kind of bad input gets a 4xx with a stable code, never a 500, and starts nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name        string
		body        string
		idemKey     string
		contentType string
		wantStatus  int
		wantCode    string
		wantParam   string
	}{
		{"no idempotency key", visa, "-", "", 400, codeIdempotencyKeyMissing, ""},
		{"idempotency key with spaces", visa, "a b", "", 400, codeIdempotencyKeyInvalid, ""},
		{"idempotency key too long", visa, strings.Repeat("k", 256), "", 400, codeIdempotencyKeyInvalid, ""},
		{"not JSON", `amount=2000`, "", "", 400, codeInvalidJSON, ""},
		{"form content type", visa, "", "application/x-www-form-urlencoded", 415, codeUnsupportedMediaType, ""},
		{"empty body", ``, "", "application/json", 400, codeInvalidJSON, ""},
		{"two objects", visa + visa, "", "", 400, codeInvalidJSON, ""},
		{"unknown field", `{"amount":2000,"currency":"usd","payment_method":"pm_card_visa","card_number":"4242424242424242"}`, "", "", 400, codeParameterUnknown, "card_number"},
		{"amount missing", `{"currency":"usd","payment_method":"pm_card_visa"}`, "", "", 400, codeParameterMissing, "amount"},
		{"amount zero", `{"amount":0,"currency":"usd","payment_method":"pm_card_visa"}`, "", "", 400, codeAmountInvalid, "amount"},
		{"amount negative", `{"amount":-5,"currency":"usd","payment_method":"pm_card_visa"}`, "", "", 400, codeAmountInvalid, "amount"},
		{"amount too large", `{"amount":100000000,"currency":"usd","payment_method":"pm_card_visa"}`, "", "", 400, codeAmountTooLarge, "amount"},
		{"amount beyond int64", `{"amount":99999999999999999999,"currency":"usd","payment_method":"pm_card_visa"}`, "", "", 400, codeParameterInvalid, "amount"},
		{"amount with decimals", `{"amount":20.5,"currency":"usd","payment_method":"pm_card_visa"}`, "", "", 400, codeParameterInvalid, "amount"},
		{"amount as string", `{"amount":"2000","currency":"usd","payment_method":"pm_card_visa"}`, "", "", 400, codeParameterInvalid, "amount"},
		{"currency missing", `{"amount":2000,"payment_method":"pm_card_visa"}`, "", "", 400, codeParameterMissing, "currency"},
		{"unknown currency", `{"amount":2000,"currency":"xyz","payment_method":"pm_card_visa"}`, "", "", 400, codeCurrencyInvalid, "currency"},
		{"unsupported currency", `{"amount":2000,"currency":"isk","payment_method":"pm_card_visa"}`, "", "", 400, codeCurrencyUnsupported, "currency"},
		{"payment method missing", `{"amount":2000,"currency":"usd"}`, "", "", 400, codeParameterMissing, "payment_method"},
		{"card number instead of a token", `{"amount":2000,"currency":"usd","payment_method":"4242424242424242"}`, "", "", 400, codePaymentMethodInvalid, "payment_method"},
		{"unknown capture method", `{"amount":2000,"currency":"usd","payment_method":"pm_card_visa","capture_method":"later"}`, "", "", 400, codeParameterInvalid, "capture_method"},
		{"description too long", `{"amount":2000,"currency":"usd","payment_method":"pm_card_visa","description":"` + strings.Repeat("d", 1001) + `"}`, "", "", 400, codeParameterInvalid, "description"},
		{"reserved metadata key", `{"amount":2000,"currency":"usd","payment_method":"pm_card_visa","metadata":{"durapay_payment_id":"x"}}`, "", "", 400, codeMetadataInvalid, "metadata"},
		{"metadata not strings", `{"amount":2000,"currency":"usd","payment_method":"pm_card_visa","metadata":{"n":1}}`, "", "", 400, codeParameterInvalid, "metadata"},
		{"body too large", `{"amount":2000,"currency":"usd","payment_method":"pm_card_visa","description":"` + strings.Repeat("d", 5000) + `"}`, "", "", 413, codeRequestTooLarge, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idem := tt.idemKey
			switch idem {
			case "":
				idem = "bad-input-" + string(rune('A'+i))
			case "-":
				idem = ""
			}
			var headers []string
			if tt.contentType != "" {
				headers = []string{"Content-Type", tt.contentType}
			}
			r := f.do(t, "POST", "/v1/payments", f.key, idem, tt.body, headers...)
			if r.status != tt.wantStatus || r.errorCode() != tt.wantCode || r.errorField("param") != tt.wantParam {
				t.Fatalf("got %d %q param %q, want %d %q param %q\n%s", r.status, r.errorCode(), r.errorField("param"),
					tt.wantStatus, tt.wantCode, tt.wantParam, r.raw)
			}
			if r.errorField("message") == "" || r.errorField("type") == "" {
				t.Errorf("error body lacks a type or message: %s", r.raw)
			}
		})
	}
	if n := f.workflows.calls(); n != 0 {
		t.Errorf("bad input started %d payments", n)
	}
}

func TestCreateAnswers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)

	t.Run("first request", func(t *testing.T) {
		r := f.do(t, "POST", "/v1/payments", f.key, "c1", visa)
		if r.status != 201 || r.body["status"] != "succeeded" || r.header.Get("Idempotent-Replayed") != "" || r.header.Get("Request-Id") == "" {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		in := f.workflows.creates[len(f.workflows.creates)-1]
		if in.PaymentID != schemas.PaymentID(f.merchant, "c1") || in.MerchantID != f.merchant || in.RequestHash == "" {
			t.Errorf("workflow input %+v", in)
		}
	})
	t.Run("retry reaching the running workflow", func(t *testing.T) {
		f.workflows.create = func(_ context.Context, in schemas.PaymentInput) (schemas.CreatePaymentResult, error) {
			res := succeeded(in)
			res.Replayed = true
			return res, nil
		}
		defer func() { f.workflows.create = nil }()
		r := f.do(t, "POST", "/v1/payments", f.key, "c1", visa)
		if r.status != 201 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("%d replayed=%q", r.status, r.header.Get("Idempotent-Replayed"))
		}
	})
	t.Run("same key, different request, while running", func(t *testing.T) {
		f.workflows.create = func(context.Context, schemas.PaymentInput) (schemas.CreatePaymentResult, error) {
			return schemas.CreatePaymentResult{}, temporal.NewNonRetryableApplicationError("reused", schemas.ErrTypeIdempotencyKeyReused, nil)
		}
		defer func() { f.workflows.create = nil }()
		r := f.do(t, "POST", "/v1/payments", f.key, "c1", `{"amount":2001,"currency":"usd","payment_method":"pm_card_visa"}`)
		if r.status != 422 || r.errorCode() != codeIdempotencyKeyReused {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("decline", func(t *testing.T) {
		f.workflows.create = func(_ context.Context, in schemas.PaymentInput) (schemas.CreatePaymentResult, error) {
			res := succeeded(in)
			res.Payment.Status, res.Payment.AmountCaptured = schemas.PaymentFailed, 0
			res.Payment.Failure = &schemas.PaymentFailure{Type: "card_error", Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."}
			return res, nil
		}
		defer func() { f.workflows.create = nil }()
		r := f.do(t, "POST", "/v1/payments", f.key, "c2", `{"amount":2000,"currency":"usd","payment_method":"pm_card_chargeDeclined"}`)
		if r.status != 402 || r.errorField("type") != "card_error" || r.errorCode() != "card_declined" || r.errorField("decline_code") != "generic_decline" {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		if p, _ := r.body["error"].(map[string]any)["payment"].(map[string]any); p["status"] != "failed" {
			t.Errorf("the error carries payment %v, want the failed payment", p)
		}
	})
	t.Run("outcome not known in time", func(t *testing.T) {
		f.workflows.create = func(ctx context.Context, _ schemas.PaymentInput) (schemas.CreatePaymentResult, error) {
			<-ctx.Done()
			return schemas.CreatePaymentResult{}, ctx.Err()
		}
		defer func() { f.workflows.create = nil }()
		r := f.do(t, "POST", "/v1/payments", f.key, "c3", visa)
		if r.status != 202 || r.body["status"] != "processing" || r.body["id"] != schemas.PaymentID(f.merchant, "c3") {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("closed workflow without a record", func(t *testing.T) {
		f.workflows.create = func(context.Context, schemas.PaymentInput) (schemas.CreatePaymentResult, error) {
			return schemas.CreatePaymentResult{}, errWorkflowClosed
		}
		defer func() { f.workflows.create = nil }()
		r := f.do(t, "POST", "/v1/payments", f.key, "c4", visa)
		if r.status != 409 || r.errorCode() != codeIdempotencyKeyUnavailable {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
	t.Run("Temporal unavailable", func(t *testing.T) {
		f.workflows.create = func(context.Context, schemas.PaymentInput) (schemas.CreatePaymentResult, error) {
			return schemas.CreatePaymentResult{}, errors.New("connection refused: secret internal detail")
		}
		defer func() { f.workflows.create = nil }()
		r := f.do(t, "POST", "/v1/payments", f.key, "c5", visa)
		if r.status != 503 || r.errorCode() != codeServiceUnavailable || r.header.Get("Retry-After") == "" || strings.Contains(r.raw, "secret internal detail") {
			t.Fatalf("%d %s (Retry-After %q)", r.status, r.raw, r.header.Get("Retry-After"))
		}
	})
}

// A retry of a recorded payment is answered from Postgres without reaching Temporal.
func TestReplayFromTheReadModel(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	body := createPaymentBody{}
	amount := int64(2000)
	body.Amount, body.Currency, body.PaymentMethod = &amount, "usd", "pm_card_visa"
	in, err := body.toInput()
	if err != nil {
		t.Fatal(err)
	}
	in.MerchantID, in.IdempotencyKey, in.PaymentID = f.merchant, "recorded", schemas.PaymentID(f.merchant, "recorded")
	rec := payments.Record{Payment: succeeded(in).Payment, IdempotencyKey: "recorded", RequestHash: requestHash(in),
		WorkflowID: schemas.PaymentWorkflowID(f.merchant, in.PaymentID), Version: 1, UpdatedAt: time.Now()}
	if _, err := payments.Save(context.Background(), f.srv.pool, rec); err != nil {
		t.Fatal(err)
	}
	r := f.do(t, "POST", "/v1/payments", f.key, "recorded", visa)
	if r.status != 201 || r.header.Get("Idempotent-Replayed") != "true" || r.body["id"] != in.PaymentID {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	r = f.do(t, "POST", "/v1/payments", f.key, "recorded", `{"amount":3000,"currency":"usd","payment_method":"pm_card_visa"}`)
	if r.status != 422 || r.errorCode() != codeIdempotencyKeyReused {
		t.Fatalf("different request: %d %s", r.status, r.raw)
	}
	if n := f.workflows.calls(); n != 0 {
		t.Errorf("replays reached Temporal %d times", n)
	}

	got := f.do(t, "GET", "/v1/payments/"+in.PaymentID, f.key, "", "")
	if got.status != 200 || got.body["id"] != in.PaymentID {
		t.Fatalf("GET own payment: %d %s", got.status, got.raw)
	}
	other := merchants.NewID()
	if err := merchants.Create(context.Background(), f.srv.pool, merchants.Merchant{ID: other, Name: "Other"}); err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := merchants.IssueSecretKey(context.Background(), f.srv.pool, other, merchants.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "GET", "/v1/payments/"+in.PaymentID, otherKey, "", ""); r.status != 404 || r.errorCode() != codeResourceMissing {
		t.Fatalf("another merchant's payment: %d %s", r.status, r.raw)
	}
}

func TestGetPayment(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inFlight := schemas.PaymentID(f.merchant, "in-flight")
	f.workflows.get = func(merchantID, paymentID string) (schemas.Payment, error) {
		if merchantID == f.merchant && paymentID == inFlight {
			return schemas.Payment{ID: paymentID, Status: schemas.PaymentProcessing}, nil
		}
		return schemas.Payment{}, errNoWorkflow
	}
	tests := []struct {
		path       string
		wantStatus int
	}{
		{"/v1/payments/" + inFlight, 200},                           // not recorded yet: asked of its workflow
		{"/v1/payments/" + schemas.PaymentID(f.merchant, "x"), 404}, // nowhere
		{"/v1/payments/not-an-id", 404},
		{"/v1/payments/pay_%27%20OR%201=1", 404},
	}
	for _, tt := range tests {
		if r := f.do(t, "GET", tt.path, f.key, "", ""); r.status != tt.wantStatus {
			t.Errorf("GET %s: %d, want %d (%s)", tt.path, r.status, tt.wantStatus, r.raw)
		}
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if r := f.do(t, "GET", "/v1/nothing", f.key, "", ""); r.status != 404 || r.errorCode() != codeResourceMissing {
		t.Errorf("unknown route: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "DELETE", "/v1/payments", f.key, "", ""); r.status != http.StatusMethodNotAllowed || r.errorCode() != codeMethodNotAllowed {
		t.Errorf("wrong method: %d %s", r.status, r.raw)
	}
	if r := f.do(t, "GET", "/healthz", "", "", ""); r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
}

func TestPanicsAnswer500WithoutDetails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.workflows.create = func(context.Context, schemas.PaymentInput) (schemas.CreatePaymentResult, error) {
		panic("database password is hunter2")
	}
	r := f.do(t, "POST", "/v1/payments", f.key, "panics", visa)
	if r.status != 500 || r.errorCode() != codeInternal || strings.Contains(r.raw, "hunter2") {
		t.Fatalf("%d %s", r.status, r.raw)
	}
}
