package schemas

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// PaymentID derives a payment's ID from the merchant and the client's Idempotency-Key.
//
// Deriving it (rather than drawing a random one) means every retry of a create, at any layer,
// names the same payment, and the idempotency key itself (free text chosen by the client,
// which may contain anything) never appears in IDs, logs or the Temporal UI.
func PaymentID(merchantID, idempotencyKey string) string {
	return "pay_" + digest32("payment", merchantID, idempotencyKey)
}

// PaymentWorkflowID is the readable workflow ID operators see: payment/<merchant>/<payment>.
func PaymentWorkflowID(merchantID, paymentID string) string {
	return "payment/" + merchantID + "/" + paymentID
}

// RefundID derives a refund's ID from the merchant and the client's Idempotency-Key, as
// PaymentID does.
func RefundID(merchantID, idempotencyKey string) string {
	return "rfd_" + digest32("refund", merchantID, idempotencyKey)
}

// RefundWorkflowID is the refund's workflow ID: refund/<merchant>/<refund>.
func RefundWorkflowID(merchantID, refundID string) string {
	return "refund/" + merchantID + "/" + refundID
}

// MerchantID derives a new merchant's ID from who created it and their Idempotency-Key, so
// that a retried sign-up names the same merchant.
func MerchantID(createdBy, idempotencyKey string) string {
	return "mer_" + digest32("merchant", createdBy, idempotencyKey)
}

// OnboardingWorkflowID is the merchant's onboarding workflow: onboarding/<merchant>.
func OnboardingWorkflowID(merchantID string) string { return "onboarding/" + merchantID }

// CustomerID derives a customer's ID from the merchant and the Idempotency-Key.
func CustomerID(merchantID, idempotencyKey string) string {
	return "cust_" + digest32("customer", merchantID, idempotencyKey)
}

// CustomerWorkflowID is the workflow that creates the customer.
func CustomerWorkflowID(merchantID, customerID string) string {
	return "customer/" + merchantID + "/" + customerID
}

// EventID derives an event's ID from what makes the event unique, so that a retried publish
// carries the same ID and consumers can drop the duplicate.
func EventID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	return "evt_" + hex.EncodeToString(h[:16])
}

// digest32 is 24 lowercase base32 characters (120 bits) of SHA-256 over the parts.
func digest32(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return strings.ToLower(idEncoding.EncodeToString(h[:15]))
}
