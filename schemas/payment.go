package schemas

import (
	"encoding/json"
	"time"

	"github.com/durapay/durapay/schemas/money"
)

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
	// Refunds move a succeeded payment on; the payment's workflow has ended by then.
	PaymentPartiallyRefunded PaymentStatus = "partially_refunded"
	PaymentRefunded          PaymentStatus = "refunded"
)

// Terminal reports whether the payment's workflow is done with it (refunds aside).
func (s PaymentStatus) Terminal() bool {
	return s == PaymentSucceeded || s == PaymentFailed || s == PaymentCanceled || s.Captured()
}

// Captured reports whether the payment's funds were captured, so that it can be refunded.
func (s PaymentStatus) Captured() bool {
	return s == PaymentSucceeded || s == PaymentPartiallyRefunded || s == PaymentRefunded
}

// Cancellation reasons Durapay sets itself, beside Stripe's.
const (
	CancelAuthorizationExpired = "authorization_expired"
	CancelByOperator           = "operator"
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
	RequestHash string
	// Amount was validated by money.NewAmount: positive, within the maximum, in a currency
	// Durapay supports. It stays typed from the handler to the Stripe activity.
	money.Amount
	PaymentMethod string
	CaptureMethod CaptureMethod
	Description   string
	Metadata      map[string]string
	// Customer is one of the merchant's customers (cust_...), and StripeCustomerID its
	// Stripe Customer; both empty for a guest payment.
	Customer         string
	StripeCustomerID string
	Policy           PaymentPolicy
}

// PaymentPolicy holds the deadlines of one payment, fixed when it starts (so that a changed
// configuration never changes a running payment's history).
type PaymentPolicy struct {
	// ActionTimeout: a payment still waiting for the customer's authentication (3-D Secure)
	// this long after it started is canceled and fails.
	ActionTimeout time.Duration
	// AuthorizationWindow: an authorization not captured this long after it was granted is
	// canceled, before the card network's window (7 days for most cards) closes.
	AuthorizationWindow time.Duration
	// StripeRetryBudget bounds how long one Stripe step is retried before the payment is
	// parked for an operator. It stays well under the 24 hours Stripe keeps idempotency keys,
	// so that no retry can act twice.
	StripeRetryBudget time.Duration
}

// Defaults of PaymentPolicy, and the longest retry budget allowed.
const (
	DefaultActionTimeout       = time.Hour
	DefaultAuthorizationWindow = 6*24*time.Hour + 20*time.Hour
	DefaultStripeRetryBudget   = 12 * time.Hour
	MaxStripeRetryBudget       = 20 * time.Hour
)

// CaptureRequest is the argument of UpdateCapturePayment.
type CaptureRequest struct {
	// AmountToCapture is at most the authorized amount; 0 captures all of it. The rest of
	// the authorization is released.
	AmountToCapture int64
}

// CancelRequest is the argument of UpdateCancelPayment.
type CancelRequest struct {
	// Reason is Stripe's cancellation_reason: duplicate, fraudulent, requested_by_customer,
	// abandoned; empty is requested_by_customer.
	Reason string
}

// Operator decisions on a payment in needs_attention.
const (
	DecisionRetry  = "retry"
	DecisionCancel = "cancel"
)

// OperatorDecision is the argument of UpdateOperatorDecision and SignalOperatorDecision.
type OperatorDecision struct {
	Action   string `json:"action"`   // retry or cancel
	Operator string `json:"operator"` // who decided, for the history and the audit trail
	Reason   string `json:"reason"`
}

// StripeEventSignal is the payload of SignalStripeEvent: which Stripe event concerns the
// payment. The workflow reads the object's current state from Stripe rather than trusting
// the event's snapshot, so that duplicates and events out of order cannot move it wrongly.
type StripeEventSignal struct {
	EventID  string
	Type     string
	Created  int64
	ObjectID string
}

// Attention says why a payment waits for an operator (needs_attention).
type Attention struct {
	// Step is the workflow step that could not complete (create_payment_intent, ...).
	Step string `json:"step"`
	// ErrorType is the failure's type (StripeIdempotencyError, timeout, ...).
	ErrorType string `json:"error_type"`
	Message   string `json:"message"`
	// Since is a Unix time in seconds.
	Since int64 `json:"since"`
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
	Customer              string            `json:"customer,omitempty"`
	Description           string            `json:"description,omitempty"`
	Metadata              map[string]string `json:"metadata"`
	AmountCapturable      int64             `json:"amount_capturable"`
	AmountCaptured        int64             `json:"amount_captured"`
	AmountRefunded        int64             `json:"amount_refunded"`
	StripePaymentIntentID string            `json:"stripe_payment_intent,omitempty"`
	NextAction            json.RawMessage   `json:"next_action,omitempty"`
	Failure               *PaymentFailure   `json:"failure,omitempty"`
	// CancellationReason says why a canceled payment was canceled: requested_by_customer,
	// duplicate, fraudulent, abandoned (Stripe's reasons, given by the merchant),
	// authorization_expired, or operator.
	CancellationReason string `json:"cancellation_reason,omitempty"`
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

// StripeEventsBackfillInput configures one run of the Stripe events backfill.
type StripeEventsBackfillInput struct {
	// Lookback is how far back the first run reads, before any position is saved.
	Lookback time.Duration
	// Overlap re-reads this much before the saved position, for events Stripe lists late.
	Overlap time.Duration
}

// StripeEventsBackfillResult counts what one run found.
type StripeEventsBackfillResult struct {
	Listed    int // events read from Stripe
	Delivered int // of which no webhook had brought
}
