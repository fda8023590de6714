package schemas

import "time"

// The store activities' contract: the workflows' writes to Postgres. Registered names and
// error types live in stored histories: never rename one.

// RecordAuditName is the activity's registered name. It was a Store method's: the name
// stays, as histories hold it.
const RecordAuditName = "store.RecordAudit"

// PruneTableName is the activity's registered name.
const PruneTableName = "store.PruneTable"

// PruneTableRequest deletes Table's rows older than Before (internal/domain/retention decides
// which rows may never go).
type PruneTableRequest struct {
	Table  string
	Before time.Time
}

// RecordPaymentName is the activity's registered name.
const RecordPaymentName = "store.RecordPayment"

// RecordPaymentRequest is the payment after a state change.
type RecordPaymentRequest struct {
	Payment        Payment
	IdempotencyKey string
	RequestHash    string
	WorkflowID     string
	// Attention says why the payment waits for an operator; nil when it does not.
	Attention *Attention
	// StripeChargeID is the charge behind a capture, which the ledger records for
	// reconciliation with Stripe's balance transactions.
	StripeChargeID string
	// Version orders the workflow's state changes; an older or repeated version is a no-op.
	Version int64
	// At is the workflow time of the change.
	At time.Time
}

// RecordRefundName is the activity's registered name.
const RecordRefundName = "store.RecordRefund"

// RecordRefundRequest is what Stripe said of a refund.
type RecordRefundRequest struct {
	RefundID string
	// Status is pending or succeeded (Stripe accepted the refund: the ledger posts it), or
	// failed (refused at creation, or failed later: the ledger reverses it, if posted).
	Status         RefundStatus
	StripeRefundID string
	FailureReason  string
	At             time.Time
}

// RecordRefundAttentionName is the activity's registered name.
const RecordRefundAttentionName = "store.RecordRefundAttention"

// RecordRefundAttentionRequest says why a refund waits for an operator (nil: it no longer
// does).
type RecordRefundAttentionRequest struct {
	RefundID  string
	Attention *Attention
}

// ReserveRefundName is the activity's registered name.
const ReserveRefundName = "store.ReserveRefund"

// ReserveRefundRequest is a refund to reserve against its payment.
type ReserveRefundRequest struct {
	Input      RefundInput
	WorkflowID string
	At         time.Time
}

// ReservedRefund is the reserved refund and the PaymentIntent to refund.
type ReservedRefund struct {
	Refund          Refund
	PaymentIntentID string
}

// AuditRecord is what a workflow asks the audit log to append: an action a person decided
// (an operator's decision, a merchant's review), as the workflow applied it.
type AuditRecord struct {
	At       time.Time
	Actor    string // who decided, as the decision names them
	Action   string // e.g. payment.operator_retry, merchant.approve
	Resource string
	Outcome  string // AuditSuccess
	Remote   string // where it was applied: "workflow <ID>"
	Details  map[string]string
}

// AuditSuccess is an AuditRecord's outcome for an action that was done.
const AuditSuccess = "success"
