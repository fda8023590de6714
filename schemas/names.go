// Package schemas holds Durapay's contracts: the names registered in Temporal, the types that
// cross process boundaries (workflow inputs, updates, results, Kafka events) and the
// documents that describe them (JSON Schemas in events/, the OpenAPI document).
//
// Registered names and field names live in stored workflow histories and in consumers' code
// forever: review every change here like a change to a public API.
//
// This package imports nothing of Durapay's.
package schemas

import "go.temporal.io/sdk/temporal"

// Task queues. A worker process serves the ones its configuration names, so that pools can
// scale apart later.
const (
	TaskQueuePayments = "payments"
)

// Workflow, update and query names.
const (
	PaymentWorkflowName = "PaymentWorkflow"

	// UpdateCreatePayment is sent with Update-With-Start; it answers with the payment as soon
	// as its first outcome is known and recorded.
	UpdateCreatePayment = "CreatePayment"

	// QueryPayment returns the payment as the workflow currently sees it.
	QueryPayment = "Payment"
)

// Typed search attributes. Their values carry no personal data.
var (
	SearchMerchantID            = temporal.NewSearchAttributeKeyKeyword("MerchantId")
	SearchPaymentStatus         = temporal.NewSearchAttributeKeyKeyword("PaymentStatus")
	SearchAmountMinor           = temporal.NewSearchAttributeKeyInt64("AmountMinor")
	SearchCurrency              = temporal.NewSearchAttributeKeyKeyword("Currency")
	SearchStripePaymentIntentID = temporal.NewSearchAttributeKeyKeyword("StripePaymentIntentId")
)

// SearchAttributeTypes maps each custom search attribute to its Temporal type name, as the
// server's registration (`temporal operator search-attribute create`, or
// `temporal server start-dev --search-attribute NAME=TYPE`) expects.
func SearchAttributeTypes() map[string]string {
	return map[string]string{
		SearchMerchantID.GetName():            "Keyword",
		SearchPaymentStatus.GetName():         "Keyword",
		SearchAmountMinor.GetName():           "Int",
		SearchCurrency.GetName():              "Keyword",
		SearchStripePaymentIntentID.GetName(): "Keyword",
	}
}

// Application error types that workflows return to API callers (through an update) and that
// frontend-api maps to HTTP answers.
const (
	// ErrTypeIdempotencyKeyReused: the same Idempotency-Key arrived with a different request.
	ErrTypeIdempotencyKeyReused = "IdempotencyKeyReused"
)
