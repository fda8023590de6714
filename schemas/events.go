package schemas

import (
	"embed"
	"encoding/json"
)

// Kafka topics. The version suffix changes only with an incompatible envelope.
const (
	TopicPayments = "durapay.payments.v1"
)

// Topics lists every topic Durapay publishes to, for creating them.
func Topics() []string { return []string{TopicPayments, TopicFinance, TopicMerchants} }

// Event types. Each has a JSON Schema, events/<type>.v<version>.json.
const (
	// EventPaymentRequiresAction: the customer must authenticate (3-D Secure).
	EventPaymentRequiresAction = "payment.requires_action"
	// EventPaymentAuthorized: funds are held, waiting for a capture (manual capture).
	EventPaymentAuthorized = "payment.authorized"
	// EventPaymentCaptured: an authorization was captured (all or part of it).
	EventPaymentCaptured = "payment.captured"
	// EventPaymentSucceeded: the payment's funds are captured, whichever way.
	EventPaymentSucceeded = "payment.succeeded"
	// EventPaymentCanceled: canceled before any funds moved (authorizations released).
	EventPaymentCanceled = "payment.canceled"
	// EventPaymentFailed: the payment cannot succeed (a decline, failed authentication).
	EventPaymentFailed = "payment.failed"

	// Refund events travel on the payments topic under the payment's ID, so that a
	// payment's whole story stays in order on one partition.
	EventRefundCreated   = "refund.created"
	EventRefundSucceeded = "refund.succeeded"
	EventRefundFailed    = "refund.failed"
)

// Event is the envelope of every Kafka message Durapay publishes. The message key is the ID
// of the object the event is about (for payment events, the payment ID), so all events of
// one object stay in order on one partition.
type Event struct {
	// ID is deterministic (see EventID): a republished event has the same ID and consumers
	// dedupe on it.
	ID   string `json:"id"`
	Type string `json:"type"`
	// Created is a Unix time in seconds: when the change happened, not when it was sent.
	Created       int64           `json:"created"`
	Merchant      string          `json:"merchant"`
	SchemaVersion int             `json:"schema_version"`
	Data          json.RawMessage `json:"data"`
}

// PaymentEventSchemaVersion is the schema version of payment.* events.
const PaymentEventSchemaVersion = 1

// RefundEventSchemaVersion is the schema version of refund.* events.
const RefundEventSchemaVersion = 1

// EventSchemas holds the JSON Schema documents, one per event type and version
// (events/<type>.v<version>.json), plus the shared definitions they refer to.
//
//go:embed events/*.json
var EventSchemas embed.FS
