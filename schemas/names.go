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

// Workflow, update, signal and query names.
const (
	PaymentWorkflowName = "PaymentWorkflow"

	// UpdateCreatePayment is sent with Update-With-Start; it answers with the payment as soon
	// as its first outcome is known and recorded.
	UpdateCreatePayment = "CreatePayment"
	// UpdateCapturePayment captures an authorized payment (CaptureRequest -> Payment).
	UpdateCapturePayment = "CapturePayment"
	// UpdateCancelPayment cancels a payment that has not succeeded (CancelRequest -> Payment).
	UpdateCancelPayment = "CancelPayment"
	// UpdateOperatorDecision answers a payment parked in needs_attention (OperatorDecision ->
	// Payment). The admin API uses it; SignalOperatorDecision is the same decision sent
	// fire-and-forget, as the Temporal UI and CLI send signals.
	UpdateOperatorDecision = "OperatorDecision"
	SignalOperatorDecision = "OperatorDecisionSignal"
	// SignalStripeEvent tells a payment that Stripe reported a change (StripeEventSignal).
	SignalStripeEvent = "StripeEvent"

	// QueryPayment returns the payment as the workflow currently sees it.
	QueryPayment = "Payment"

	RefundWorkflowName = "RefundWorkflow"
	// UpdateCreateRefund is sent with Update-With-Start; it answers with the refund once
	// Stripe has it (or the refund is refused).
	UpdateCreateRefund = "CreateRefund"
	QueryRefund        = "Refund"

	// StripeEventsBackfillWorkflowName delivers provider events that no webhook brought, run
	// by the schedule ScheduleStripeEventsBackfill.
	StripeEventsBackfillWorkflowName = "StripeEventsBackfill"
	ScheduleStripeEventsBackfill     = "stripe-events-backfill"
)

// Metadata keys Durapay sets on every Stripe object it creates, so that the object (and a
// webhook about it) leads back to its payment and workflow.
const (
	StripeMetadataPaymentID  = "durapay_payment_id"
	StripeMetadataMerchantID = "durapay_merchant_id"
	StripeMetadataWorkflowID = "durapay_workflow_id"
	StripeMetadataRefundID   = "durapay_refund_id"
)

// SearchStatusNeedsAttention is the PaymentStatus (or RefundStatus) search attribute of a
// payment (or refund) parked for an operator's decision; clients keep seeing its own status
// meanwhile.
const SearchStatusNeedsAttention = "needs_attention"

// Typed search attributes. Their values carry no personal data.
var (
	SearchMerchantID            = temporal.NewSearchAttributeKeyKeyword("MerchantId")
	SearchPaymentStatus         = temporal.NewSearchAttributeKeyKeyword("PaymentStatus")
	SearchAmountMinor           = temporal.NewSearchAttributeKeyInt64("AmountMinor")
	SearchCurrency              = temporal.NewSearchAttributeKeyKeyword("Currency")
	SearchStripePaymentIntentID = temporal.NewSearchAttributeKeyKeyword("StripePaymentIntentId")
	// SearchRefundStatus is set on a refund's workflow once it waits for an operator
	// (needs_attention), and then follows its status.
	SearchRefundStatus = temporal.NewSearchAttributeKeyKeyword("RefundStatus")
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
		SearchRefundStatus.GetName():          "Keyword",
	}
}
