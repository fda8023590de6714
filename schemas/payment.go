package schemas

import "encoding/json"

// PaymentStatus is the client-visible state of a payment.
type PaymentStatus string

const (
	// PaymentProcessing: accepted, outcome not known yet.
	PaymentProcessing      PaymentStatus = "processing"
	PaymentRequiresAction  PaymentStatus = "requires_action"
	PaymentRequiresCapture PaymentStatus = "requires_capture"
	PaymentSucceeded       PaymentStatus = "succeeded"
	PaymentFailed          PaymentStatus = "failed"
	PaymentCanceled        PaymentStatus = "canceled"
)

// CaptureMethod says whether funds are captured at authorization or later.
type CaptureMethod string

const (
	CaptureAutomatic CaptureMethod = "automatic"
	CaptureManual    CaptureMethod = "manual"
)

// PaymentInput starts a PaymentWorkflow. frontend-api has validated every field.
type PaymentInput struct {
	PaymentID      string
	MerchantID     string
	IdempotencyKey string
	// RequestHash fingerprints the normalized create request, so that a reused
	// Idempotency-Key with a different request is told apart from a retry.
	RequestHash   string
	Amount        int64
	Currency      string
	PaymentMethod string
	CaptureMethod CaptureMethod
	Description   string
	Metadata      map[string]string
}

// CreatePaymentRequest is the argument of UpdateCreatePayment.
type CreatePaymentRequest struct {
	RequestHash string
}

// CreatePaymentResult answers UpdateCreatePayment.
type CreatePaymentResult struct {
	Payment Payment
	// Replayed is true when an earlier request with the same Idempotency-Key created the
	// payment and this one only observes it.
	Replayed bool
}

// Payment is the payment as clients, events and the read model show it.
type Payment struct {
	ID                    string            `json:"id"`
	Object                string            `json:"object"`
	Merchant              string            `json:"merchant"`
	Amount                int64             `json:"amount"`
	Currency              string            `json:"currency"`
	Status                PaymentStatus     `json:"status"`
	CaptureMethod         CaptureMethod     `json:"capture_method"`
	PaymentMethod         string            `json:"payment_method"`
	Description           string            `json:"description,omitempty"`
	Metadata              map[string]string `json:"metadata"`
	AmountCapturable      int64             `json:"amount_capturable"`
	AmountCaptured        int64             `json:"amount_captured"`
	AmountRefunded        int64             `json:"amount_refunded"`
	StripePaymentIntentID string            `json:"stripe_payment_intent,omitempty"`
	NextAction            json.RawMessage   `json:"next_action,omitempty"`
	Failure               *PaymentFailure   `json:"failure,omitempty"`
	// Created is a Unix time in seconds, as in Stripe's API.
	Created int64 `json:"created"`
}

// ObjectPayment is Payment.Object.
const ObjectPayment = "payment"

// PaymentFailure explains a failed payment in Stripe's terms.
type PaymentFailure struct {
	// Type is Stripe's error type: card_error, invalid_request_error, api_error.
	Type        string `json:"type"`
	Code        string `json:"code"`
	DeclineCode string `json:"decline_code,omitempty"`
	Message     string `json:"message"`
}
