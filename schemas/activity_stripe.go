package schemas

import (
	"encoding/json"
	"time"

	"github.com/durapay/durapay/schemas/money"
)

// The Stripe activities' contract: registered names, requests and results of the calls that
// payments, refunds, customers and Connect onboarding make to Stripe, and the error types
// that classify Stripe's answers. Registered names and error types live in stored
// histories: never rename one.

// CreateCustomerName is the activity's registered name.
const CreateCustomerName = "stripe.CreateCustomer"

// CreateCustomerRequest creates a merchant's customer.
type CreateCustomerRequest struct {
	// IdempotencyKey is the workflow ID and step: every attempt, in any run, is the same
	// request to Stripe.
	IdempotencyKey string
	Input          CustomerInput
}

// StripeFailure is what Stripe said about a request it refused, carried as the details of
// the non-retryable errors so that workflows can record it on the payment.
type StripeFailure struct {
	HTTPStatus      int
	Type            string // card_error, invalid_request_error, idempotency_error, ...
	Code            string
	DeclineCode     string
	Param           string
	Message         string
	PaymentIntentID string
	RequestID       string
}

// BackfillStripeEventsName is the activity's registered name.
const BackfillStripeEventsName = "stripe.BackfillEvents"

// CancelPaymentIntentName is the activity's registered name.
const CancelPaymentIntentName = "stripe.CancelPaymentIntent"

// CancelPaymentIntentRequest cancels a PaymentIntent that has not succeeded.
type CancelPaymentIntentRequest struct {
	// IdempotencyKey is the workflow ID and step.
	IdempotencyKey string
	ID             string
	// Reason is Stripe's cancellation_reason (duplicate, fraudulent, requested_by_customer,
	// abandoned), or empty.
	Reason string
}

// CapturePaymentIntentName is the activity's registered name.
const CapturePaymentIntentName = "stripe.CapturePaymentIntent"

// CapturePaymentIntentRequest captures an authorized PaymentIntent.
type CapturePaymentIntentRequest struct {
	// IdempotencyKey is the workflow ID and step: a PaymentIntent is captured at most once.
	IdempotencyKey string
	ID             string
	// AmountToCapture is at most the capturable amount; 0 captures all of it.
	AmountToCapture int64
}

// Activity names of Stripe Connect onboarding.
const (
	CreateConnectAccountName = "stripe.CreateConnectAccount"
	CreateAccountLinkName    = "stripe.CreateAccountLink"
	RetrieveAccountName      = "stripe.RetrieveAccount"
)

// ConnectAccount is what Durapay keeps of a connected account.
type ConnectAccount struct {
	ID             string
	ChargesEnabled bool
	CurrentlyDue   []string
}

// CreateConnectAccountRequest creates the merchant's express account.
type CreateConnectAccountRequest struct {
	IdempotencyKey string
	MerchantID     string
	WorkflowID     string
	Country        string
	BusinessType   string
}

// CreateAccountLinkRequest asks for a KYC link for the account.
type CreateAccountLinkRequest struct {
	IdempotencyKey        string
	AccountID             string
	RefreshURL, ReturnURL string
}

// AccountLink is a KYC link and when it stops working.
type AccountLink struct {
	URL       string
	ExpiresAt int64
}

// CreatePaymentIntentName is the activity's registered name.
const CreatePaymentIntentName = "stripe.CreatePaymentIntent"

// CreatePaymentIntentRequest creates and confirms a PaymentIntent in one call.
type CreatePaymentIntentRequest struct {
	// IdempotencyKey is the workflow ID and step: every attempt of this step, in any run, is
	// the same request to Stripe.
	IdempotencyKey string
	PaymentID      string
	MerchantID     string
	WorkflowID     string
	money.Amount
	PaymentMethod string
	CaptureMethod string
	Description   string
	Metadata      map[string]string
	// Customer is the Stripe Customer (cus_...), or empty.
	Customer string
}

// StripeIntentStatus is a PaymentIntent's status as Stripe reports it.
type StripeIntentStatus string

// The PaymentIntent statuses a payment's workflow acts on.
const (
	IntentRequiresPaymentMethod StripeIntentStatus = "requires_payment_method"
	IntentRequiresAction        StripeIntentStatus = "requires_action"
	IntentProcessing            StripeIntentStatus = "processing"
	IntentRequiresCapture       StripeIntentStatus = "requires_capture"
	IntentSucceeded             StripeIntentStatus = "succeeded"
	IntentCanceled              StripeIntentStatus = "canceled"
)

// PaymentIntent is what Durapay keeps of a Stripe PaymentIntent.
type PaymentIntent struct {
	ID               string
	Status           StripeIntentStatus
	AmountCapturable int64
	AmountReceived   int64
	NextAction       json.RawMessage
	// LatestCharge is the charge of the last confirmation (ch_...).
	LatestCharge string
	// CancellationReason is Stripe's, for a canceled PaymentIntent.
	CancellationReason string
	// LastPaymentError explains why the last confirmation failed (status
	// requires_payment_method): a decline, or failed authentication.
	LastPaymentError *StripeFailure
}

// CreateRefundName is the activity's registered name.
const CreateRefundName = "stripe.CreateRefund"

// CreateStripeRefundRequest refunds part or all of a PaymentIntent's charge.
type CreateStripeRefundRequest struct {
	// IdempotencyKey is the refund's workflow ID and step.
	IdempotencyKey  string
	PaymentIntentID string
	Amount          int64
	// Reason is Stripe's: duplicate, fraudulent, requested_by_customer, or empty.
	Reason     string
	Metadata   map[string]string
	RefundID   string
	WorkflowID string
	// FindExisting looks for the refund at Stripe (by its metadata) before creating it: for
	// a refund an earlier run may have created while Stripe no longer knows its key.
	FindExisting bool
}

// StripeRefundStatus is a refund's status as Stripe reports it.
type StripeRefundStatus string

// Stripe's refund statuses.
const (
	StripeRefundPending        StripeRefundStatus = "pending"
	StripeRefundRequiresAction StripeRefundStatus = "requires_action"
	StripeRefundSucceeded      StripeRefundStatus = "succeeded"
	StripeRefundFailed         StripeRefundStatus = "failed"
	StripeRefundCanceled       StripeRefundStatus = "canceled"
)

// StripeRefund is what Durapay keeps of a Stripe refund.
type StripeRefund struct {
	ID     string
	Status StripeRefundStatus
	Amount int64
	// FailureReason is Stripe's, for a failed refund.
	FailureReason string
}

// FindPaymentIntentName is the activity's registered name.
const FindPaymentIntentName = "stripe.FindPaymentIntent"

// FindPaymentIntentRequest names the payment whose PaymentIntent to look for.
type FindPaymentIntentRequest struct {
	PaymentID string
	// CreatedSince bounds the search: no attempt for the payment is older (its workflow's
	// start, less a margin for clocks).
	CreatedSince time.Time
}

// FindRefundName is the activity's registered name.
const FindRefundName = "stripe.FindRefund"

// FindRefundRequest looks for the Stripe refund of one Durapay refund.
type FindRefundRequest struct {
	PaymentIntentID string
	RefundID        string
}

// RetrievePaymentIntentName is the activity's registered name.
const RetrievePaymentIntentName = "stripe.RetrievePaymentIntent"

// RetrievePaymentIntentRequest names the PaymentIntent to read.
type RetrievePaymentIntentRequest struct {
	ID string
}

// RetrieveRefundName is the activity's registered name.
const RetrieveRefundName = "stripe.RetrieveRefund"

// RetrieveRefundRequest names the Stripe refund to read.
type RetrieveRefundRequest struct {
	ID string
}
