package schemas

import (
	"fmt"
	"slices"
)

// EventType is one version of one event type: the contract a consumer codes against. Its
// JSON Schema is events/<Name>.v<Version>.json; NewData gives the Go type that the schema's
// data describes, so that a test can hold the two together.
type EventType struct {
	Name    string
	Version int
	// Topic is where the event is published.
	Topic string
	// NewData returns a pointer to a new zero value of the Go type the event's data decodes to.
	NewData     func() any
	Description string
}

// SchemaFile is the name of the event type's JSON Schema in events/.
func (t EventType) SchemaFile() string { return fmt.Sprintf("%s.v%d.json", t.Name, t.Version) }

// eventTypes lists every event type Durapay publishes, in the order a reader meets them.
// An event type's version never changes its meaning: a breaking change is a new entry (and a
// new schema file) beside the old one, published side by side while consumers move over.
var eventTypes = []EventType{
	{EventPaymentRequiresAction, PaymentEventSchemaVersion, TopicPayments, newPayment,
		"The customer must authenticate the payment (3-D Secure); next_action says how."},
	{EventPaymentAuthorized, PaymentEventSchemaVersion, TopicPayments, newPayment,
		"The funds are held and wait for a capture (manual capture)."},
	{EventPaymentCaptured, PaymentEventSchemaVersion, TopicPayments, newPayment,
		"An authorization was captured, all or part of it; the rest is released. payment.succeeded follows."},
	{EventPaymentSucceeded, PaymentEventSchemaVersion, TopicPayments, newPayment,
		"The payment's funds were captured, whichever way."},
	{EventPaymentCanceled, PaymentEventSchemaVersion, TopicPayments, newPayment,
		"Canceled before any funds moved (authorizations released); cancellation_reason says why."},
	{EventPaymentFailed, PaymentEventSchemaVersion, TopicPayments, newPayment,
		"The payment cannot succeed (a decline, a failed authentication)."},

	{EventRefundCreated, RefundEventSchemaVersion, TopicPayments, newRefund,
		"Stripe accepted the refund (pending, or succeeded already). Keyed by the payment's ID."},
	{EventRefundSucceeded, RefundEventSchemaVersion, TopicPayments, newRefund,
		"The refund reached the customer. Keyed by the payment's ID."},
	{EventRefundFailed, RefundEventSchemaVersion, TopicPayments, newRefund,
		"The refund failed; its amount is refundable again. Keyed by the payment's ID."},

	{EventMerchantOnboardingStarted, MerchantEventSchemaVersion, TopicMerchants, newOnboardingState,
		"A merchant was created and sent its first KYC link."},
	{EventMerchantOnboardingLink, MerchantEventSchemaVersion, TopicMerchants, newOnboardingState,
		"Stripe asks for more: a fresh KYC link for the merchant."},
	{EventMerchantReminder, MerchantEventSchemaVersion, TopicMerchants, newOnboardingState,
		"KYC is still incomplete: a reminder with a fresh link."},
	{EventMerchantKYCCompleted, MerchantEventSchemaVersion, TopicMerchants, newOnboardingState,
		"Stripe enabled charges: the merchant waits for an operator's review."},
	{EventMerchantActivated, MerchantEventSchemaVersion, TopicMerchants, newOnboardingState,
		"An operator approved the merchant and its secret key was issued (the welcome)."},
	{EventMerchantRejected, MerchantEventSchemaVersion, TopicMerchants, newOnboardingState,
		"An operator rejected the merchant."},
	{EventMerchantExpired, MerchantEventSchemaVersion, TopicMerchants, newOnboardingState,
		"The onboarding was not completed in time."},

	{EventReportReady, FinanceEventSchemaVersion, TopicFinance, func() any { return new(ReportReady) },
		"A merchant's daily settlement report was written to the bucket."},
	{EventReconciliationMismatch, FinanceEventSchemaVersion, TopicFinance, func() any { return new(ReconciliationMismatch) },
		"The ledger and Stripe disagree about one Stripe object; merchant is platform when no merchant is known."},
}

func newPayment() any         { return new(Payment) }
func newRefund() any          { return new(Refund) }
func newOnboardingState() any { return new(OnboardingState) }

// EventTypes lists every event type and version Durapay publishes.
func EventTypes() []EventType { return slices.Clone(eventTypes) }

// LookupEventType finds one version of an event type.
func LookupEventType(name string, version int) (EventType, bool) {
	i := slices.IndexFunc(eventTypes, func(t EventType) bool { return t.Name == name && t.Version == version })
	if i < 0 {
		return EventType{}, false
	}
	return eventTypes[i], true
}

// EventTopics lists the topics that carry Durapay events (Topics may name others, whose
// messages are not events), each once.
func EventTopics() []string {
	var topics []string
	for _, t := range eventTypes {
		if !slices.Contains(topics, t.Topic) {
			topics = append(topics, t.Topic)
		}
	}
	return topics
}
