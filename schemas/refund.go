package schemas

import "time"

// RefundStatus is the client-visible state of a refund.
type RefundStatus string

const (
	// RefundPending: reserved against the payment; Stripe has not settled it yet.
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	// RefundFailed: Stripe refused or later failed it; its amount is refundable again.
	RefundFailed RefundStatus = "failed"
)

// ObjectRefund is Refund.Object.
const ObjectRefund = "refund"

// Refund is a refund as clients, events and the read model show it.
type Refund struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Merchant       string            `json:"merchant"`
	Payment        string            `json:"payment"`
	Amount         int64             `json:"amount"`
	Currency       string            `json:"currency"`
	Status         RefundStatus      `json:"status"`
	Reason         string            `json:"reason,omitempty"`
	Metadata       map[string]string `json:"metadata"`
	StripeRefundID string            `json:"stripe_refund,omitempty"`
	FailureReason  string            `json:"failure_reason,omitempty"`
	// Created is a Unix time in seconds.
	Created int64 `json:"created"`
}

// RefundInput starts a RefundWorkflow. frontend-api has validated every field.
type RefundInput struct {
	RefundID       string
	MerchantID     string
	PaymentID      string
	IdempotencyKey string
	RequestHash    string
	// Amount is what to refund; 0 refunds all that remains of the payment.
	Amount   int64
	Reason   string
	Metadata map[string]string
	Policy   RefundPolicy
}

// RefundPolicy holds a refund's deadlines, fixed when it starts.
type RefundPolicy struct {
	// FailureWindow is how long after its creation the workflow still listens for Stripe to
	// report the refund failed (a closed card, say). Reconciliation catches a later failure.
	FailureWindow time.Duration
	// StripeRetryBudget bounds the retries of one Stripe call under one idempotency key.
	StripeRetryBudget time.Duration
}

// DefaultRefundFailureWindow is RefundPolicy.FailureWindow's default.
const DefaultRefundFailureWindow = 30 * 24 * time.Hour

// CreateRefundRequest is the argument of UpdateCreateRefund.
type CreateRefundRequest struct {
	RequestHash string
}

// CreateRefundResult answers UpdateCreateRefund.
type CreateRefundResult struct {
	Refund   Refund
	Replayed bool
}
