package schemas

// Every application error type of Durapay's workflows and activities, in one place: a
// workflow tells failures apart by errors.As(*temporal.ApplicationError) and Type(), and
// frontend-api maps the types meant for API callers to answers in one table
// (frontend-api/errors.go). Stored histories contain them: never rename one.

// Application error types that workflows return to API callers (through an update) and that
// frontend-api maps to HTTP answers.
const (
	// ErrTypeIdempotencyKeyReused: the same Idempotency-Key arrived with a different request.
	ErrTypeIdempotencyKeyReused = "IdempotencyKeyReused"
	// ErrTypePaymentUnexpectedState: the payment's status does not allow the request (capturing
	// a canceled payment, say).
	ErrTypePaymentUnexpectedState = "PaymentUnexpectedState"
	// ErrTypeCaptureAmountInvalid: amount_to_capture is not within 1..amount_capturable.
	ErrTypeCaptureAmountInvalid = "CaptureAmountInvalid"
	// ErrTypeInvalidDecision: an operator decision that is neither retry nor cancel.
	ErrTypeInvalidDecision = "InvalidOperatorDecision"
	// ErrTypePaymentNotCaptured: a refund of a payment whose funds were never captured.
	ErrTypePaymentNotCaptured = "PaymentNotCaptured"
	// ErrTypeRefundExceedsRemaining: a refund of more than what remains of the payment.
	ErrTypeRefundExceedsRemaining = "RefundExceedsRemaining"
	// ErrTypeRefundUnexpectedState: the refund's state does not allow the request (an
	// operator's decision on a refund that waits for none, say).
	ErrTypeRefundUnexpectedState = "RefundUnexpectedState"
	// ErrTypeMerchantNotReviewable: a decision the onboarding's state does not allow
	// (approving before Stripe has enabled charges, deciding twice).
	ErrTypeMerchantNotReviewable = "MerchantNotReviewable"
)

// Error types of the Stripe activities: how a call to Stripe failed, and so whether the
// workflow retries it, answers the caller, or waits for an operator.
const (
	// ErrTypeStripeCard: the card was declined or rejected. Not retried: the same request
	// gets the same answer. Details: StripeFailure.
	ErrTypeStripeCard = "StripeCardError"
	// ErrTypeStripeInvalidRequest: Stripe refused the parameters (an unknown PaymentMethod, an
	// object in the wrong state). Not retried. Details: StripeFailure.
	ErrTypeStripeInvalidRequest = "StripeInvalidRequest"
	// ErrTypeStripeIdempotency: the idempotency key was used with other parameters, which
	// means a bug or tampering. Not retried. Details: StripeFailure.
	ErrTypeStripeIdempotency = "StripeIdempotencyError"
	// ErrTypeStripeAuthentication: Durapay's Stripe key was refused. Not retried.
	ErrTypeStripeAuthentication = "StripeAuthenticationError"
	// ErrTypeStripeRateLimited: 429 rate_limit or lock_timeout. Retried after NextRetryDelay.
	ErrTypeStripeRateLimited = "StripeRateLimited"
	// ErrTypeStripeUnavailable: 5xx, 409 (a concurrent request with the key) or the network.
	// Retried with the same idempotency key.
	ErrTypeStripeUnavailable = "StripeUnavailable"
	// ErrTypeStripeCircuitOpen: the circuit breaker holds calls back while Stripe fails.
	// Retried after NextRetryDelay, when the breaker lets a trial call through.
	ErrTypeStripeCircuitOpen = "StripeCircuitOpen"
)

// Error types of the store activities: bugs, never fixed by retrying.
const (
	// ErrTypeLedgerConflict: a ledger transaction ID was already used for other postings.
	ErrTypeLedgerConflict = "LedgerConflict"
	// ErrTypeRefundConflict: a refund ID was already used for another request.
	ErrTypeRefundConflict = "RefundConflict"
	// ErrTypeWebhookDeliveryMissing: the delivery's record is gone; nothing to deliver.
	ErrTypeWebhookDeliveryMissing = "WebhookDeliveryMissing"
)
