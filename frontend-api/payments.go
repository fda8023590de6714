package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/durapay/durapay/internal/domain/payments"
	"github.com/durapay/durapay/internal/platform/breaker"
	"github.com/durapay/durapay/internal/platform/pg"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/schemas/money"
)

// Limits on what a merchant attaches to a payment. Metadata stays within Stripe's own limits
// (50 keys) with room for the keys Durapay adds.
const (
	maxMetadataKeys        = 40
	maxMetadataKeyLength   = 40
	maxMetadataValueLength = 500
	maxDescriptionLength   = 1000
	reservedMetadataPrefix = "durapay_"
)

var (
	// Stripe PaymentMethod IDs only: a card number never reaches Durapay.
	paymentMethodPattern  = regexp.MustCompile(`^pm_[A-Za-z0-9_]{1,200}$`)
	idempotencyKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)
	paymentIDPattern      = regexp.MustCompile(`^pay_[a-z2-7]{24}$`)
)

// createPaymentBody is POST /v1/payments.
type createPaymentBody struct {
	Amount        *int64            `json:"amount"`
	Currency      string            `json:"currency"`
	PaymentMethod string            `json:"payment_method"`
	CaptureMethod string            `json:"capture_method"`
	Description   string            `json:"description"`
	Metadata      map[string]string `json:"metadata"`
	// Customer is one of the merchant's customers (cust_...).
	Customer string `json:"customer"`
}

// toInput validates the body and converts it to the workflow's input.
func (b createPaymentBody) toInput() (schemas.PaymentInput, error) {
	if b.Amount == nil {
		return schemas.PaymentInput{}, newError(codeParameterMissing, "amount", "Missing required parameter: amount (an integer of the currency's minor units, e.g. 2000 for 20.00 USD).")
	}
	if b.Currency == "" {
		return schemas.PaymentInput{}, newError(codeParameterMissing, "currency", "Missing required parameter: currency (a three-letter ISO 4217 code, e.g. usd).")
	}
	amount, err := money.NewAmount(*b.Amount, b.Currency)
	switch {
	case errors.Is(err, money.ErrUnknownCurrency):
		return schemas.PaymentInput{}, newError(codeCurrencyInvalid, "currency", fmt.Sprintf("Unknown currency %q: use a three-letter ISO 4217 code.", b.Currency))
	case errors.Is(err, money.ErrUnsupportedCurrency):
		return schemas.PaymentInput{}, newError(codeCurrencyUnsupported, "currency", fmt.Sprintf("Currency %q is not supported yet.", b.Currency))
	case errors.Is(err, money.ErrNotPositive):
		return schemas.PaymentInput{}, newError(codeAmountInvalid, "amount", "amount must be a positive integer of the currency's minor units.")
	case errors.Is(err, money.ErrTooLarge):
		return schemas.PaymentInput{}, newError(codeAmountTooLarge, "amount", fmt.Sprintf("amount must be at most %d minor units.", money.MaxMinor))
	case err != nil:
		return schemas.PaymentInput{}, err
	}
	if b.PaymentMethod == "" {
		return schemas.PaymentInput{}, newError(codeParameterMissing, "payment_method", "Missing required parameter: payment_method (a Stripe PaymentMethod ID, pm_...).")
	}
	if !paymentMethodPattern.MatchString(b.PaymentMethod) {
		return schemas.PaymentInput{}, newError(codePaymentMethodInvalid, "payment_method",
			"payment_method must be a Stripe PaymentMethod ID (pm_...). Never send card numbers to Durapay.")
	}
	capture := schemas.CaptureMethod(b.CaptureMethod)
	switch capture {
	case "":
		capture = schemas.CaptureAutomatic
	case schemas.CaptureAutomatic, schemas.CaptureManual:
	default:
		return schemas.PaymentInput{}, newError(codeParameterInvalid, "capture_method", `capture_method must be "automatic" or "manual".`)
	}
	if len(b.Description) > maxDescriptionLength {
		return schemas.PaymentInput{}, newError(codeParameterInvalid, "description", fmt.Sprintf("description must be at most %d characters.", maxDescriptionLength))
	}
	if err := validateMetadata(b.Metadata); err != nil {
		return schemas.PaymentInput{}, err
	}
	return schemas.PaymentInput{
		Amount: amount, PaymentMethod: b.PaymentMethod,
		CaptureMethod: capture, Description: b.Description, Metadata: b.Metadata, Customer: b.Customer,
	}, nil
}

func validateMetadata(m map[string]string) error {
	if len(m) > maxMetadataKeys {
		return newError(codeMetadataInvalid, "metadata", fmt.Sprintf("metadata has %d keys; at most %d are allowed.", len(m), maxMetadataKeys))
	}
	for k, v := range m {
		switch {
		case k == "" || len(k) > maxMetadataKeyLength:
			return newError(codeMetadataInvalid, "metadata", fmt.Sprintf("metadata keys must be 1 to %d characters.", maxMetadataKeyLength))
		case strings.HasPrefix(k, reservedMetadataPrefix):
			return newError(codeMetadataInvalid, "metadata", fmt.Sprintf("metadata keys starting with %q are reserved.", reservedMetadataPrefix))
		case len(v) > maxMetadataValueLength:
			return newError(codeMetadataInvalid, "metadata", fmt.Sprintf("metadata values must be at most %d characters.", maxMetadataValueLength))
		}
	}
	return nil
}

// requestHash fingerprints the normalized request, so that a retry (same hash) is told
// apart from a different request reusing the key. JSON encodes map keys in sorted order,
// which makes the encoding canonical.
func requestHash(in schemas.PaymentInput) string {
	b, _ := json.Marshal(struct { // plain fields: cannot fail
		Amount                  int64
		Currency, PaymentMethod string
		CaptureMethod           schemas.CaptureMethod
		Description             string
		Metadata                map[string]string
		Customer                string `json:",omitempty"`
	}{in.Amount.Minor, in.Currency.String(), in.PaymentMethod, in.CaptureMethod, in.Description, in.Metadata, in.Customer})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return "", newError(codeIdempotencyKeyMissing, "", "An Idempotency-Key header is required: a unique value per payment (a UUID), reused only to retry the same request.")
	}
	if !idempotencyKeyPattern.MatchString(key) {
		return "", newError(codeIdempotencyKeyInvalid, "", "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.")
	}
	return key, nil
}

// createPayment is POST /v1/payments: one round trip from the request to the payment's first
// outcome.
func (s *server) createPayment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	merchantID := merchantFrom(ctx)
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var body createPaymentBody
	if err := s.decodeJSON(w, r, &body); err != nil {
		return err
	}
	in, err := body.toInput()
	if err != nil {
		return err
	}
	in.MerchantID, in.IdempotencyKey = merchantID, key
	in.PaymentID = schemas.PaymentID(merchantID, key)
	in.RequestHash = requestHash(in)
	in.Policy = s.cfg.policy()

	return createOnce(s, w, r, creation[schemas.Payment]{
		key: key, requestHash: in.RequestHash, service: "The payment service",
		recorded: func(ctx context.Context) (schemas.Payment, string, error) {
			rec, err := payments.GetByIdempotencyKey(ctx, s.pool, merchantID, key)
			return rec.Payment, rec.RequestHash, err
		},
		// A processing payment answers 202 from its row: its workflow, were it gone, must not
		// be started again (it could charge twice).
		start: func(ctx context.Context) (schemas.Payment, bool, error) {
			if in.Customer != "" {
				c, err := s.findCustomer(ctx, merchantID, in.Customer)
				if err != nil {
					return schemas.Payment{}, false, err
				}
				in.StripeCustomerID = c.StripeCustomerID
			}
			if err := s.stripeAvailable(ctx); err != nil {
				return schemas.Payment{}, false, err
			}
			res, err := s.workflows.Create(ctx, in, newUpdateID())
			return res.Payment, res.Replayed, err
		},
		answer:  writePayment,
		pending: func() schemas.Payment { return processing(in) },
	})
}

// getPayment is GET /v1/payments/{id}: the read model, or for a payment still without a
// recorded outcome, its workflow.
func (s *server) getPayment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, merchantID := mux.Vars(r)["id"], merchantFrom(ctx)
	notFound := newError(codeResourceMissing, "id", "No such payment: '"+id+"'")
	if !paymentIDPattern.MatchString(id) {
		return notFound
	}
	rec, err := payments.Get(ctx, s.pool, merchantID, id)
	if err == nil {
		writeJSON(w, http.StatusOK, rec.Payment)
		return nil
	}
	if !errors.Is(err, pg.ErrNotFound) {
		return err
	}
	queryCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	p, err := s.workflows.Get(queryCtx, merchantID, id)
	if errors.Is(err, errNoWorkflow) {
		return notFound
	}
	if err != nil {
		return unavailable("The payment service is temporarily unavailable.", err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// stripeAvailable refuses a new payment while the workers' circuit breaker holds Stripe
// calls back: the payment could not start now, and the client is told when to come back.
// Should Redis not answer, the payment goes ahead: the workers' breaker still protects Stripe.
func (s *server) stripeAvailable(ctx context.Context) error {
	wait, err := breaker.OpenFor(ctx, s.redis, s.stripeBreaker)
	if err != nil {
		loggerFrom(ctx).WithError(err).Warn("circuit breaker state unknown; accepting the payment")
		return nil
	}
	if wait > 0 {
		return &apiError{code: codeProviderUnavailable, retryAfter: wait,
			message: "The card processor is failing; new payments are paused. Retry after the time in Retry-After, with the same Idempotency-Key."}
	}
	return nil
}

func reusedKey() error {
	return newError(codeIdempotencyKeyReused, "", reusedKeyMessage)
}

// writePayment answers a create with the payment: 201; 202 while its outcome is not known
// (processing, or parked for an operator); or the failure in an error body (402 for a card
// error) that still carries the payment.
func writePayment(w http.ResponseWriter, p schemas.Payment, replayed bool) error {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	switch {
	case p.Status == schemas.PaymentFailed && p.Failure != nil:
		return paymentFailureError(p)
	case p.Status == schemas.PaymentProcessing:
		writeJSON(w, http.StatusAccepted, p)
	default:
		writeJSON(w, http.StatusCreated, p)
	}
	return nil
}

// processing is the payment as known before its outcome.
func processing(in schemas.PaymentInput) schemas.Payment {
	metadata := in.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	return schemas.Payment{ID: in.PaymentID, Object: schemas.ObjectPayment, Merchant: in.MerchantID, Amount: in.Amount.Minor,
		Currency: in.Currency.String(), Status: schemas.PaymentProcessing, CaptureMethod: in.CaptureMethod,
		PaymentMethod: in.PaymentMethod, Description: in.Description, Metadata: metadata, Created: time.Now().Unix()}
}

// newUpdateID names one HTTP request's update, distinct even when a client resends its own
// request ID.
func newUpdateID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "create-" + hex.EncodeToString(b)
}
