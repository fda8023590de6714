package schemas

import "time"

// Merchant webhooks: Durapay's events, POSTed to the merchant's endpoints.
const (
	// TaskQueueWebhooks runs deliveries apart from payments: thousands of slow merchant
	// endpoints must never hold up a payment's activities.
	TaskQueueWebhooks = "webhooks"

	WebhookDeliveryWorkflowName = "WebhookDelivery"

	// WebhookAllEvents in an endpoint's enabled events selects every event type.
	WebhookAllEvents = "*"
)

// WebhookDeliveryWorkflowID is one workflow per delivery: starting it twice (a redelivered
// Kafka message) finds the first.
func WebhookDeliveryWorkflowID(deliveryID string) string { return "webhook-delivery/" + deliveryID }

// WebhookRetryPolicy is how long and how often a delivery is tried: exponential backoff from
// InitialInterval, doubling up to MaximumInterval, for Window in all.
type WebhookRetryPolicy struct {
	InitialInterval time.Duration
	MaximumInterval time.Duration
	Window          time.Duration
}

// DefaultWebhookRetryPolicy tries for 3 days: after 30 s, 1 min, 2 min, ... then every 6
// hours, about 20 attempts in all.
var DefaultWebhookRetryPolicy = WebhookRetryPolicy{
	InitialInterval: 30 * time.Second,
	MaximumInterval: 6 * time.Hour,
	Window:          72 * time.Hour,
}

// WebhookDeliveryInput starts a WebhookDeliveryWorkflow. The payload stays in Postgres
// (webhook_deliveries): histories carry IDs, not copies of events.
type WebhookDeliveryInput struct {
	DeliveryID string
	Policy     WebhookRetryPolicy
}

// WebhookAttemptResult is one attempt of a delivery, as the workflow records it.
type WebhookAttemptResult struct {
	DeliveryID string
	Attempt    int
	StatusCode int // 0 when no answer came
	DurationMS int
	// Error is the failure's class (timeout, http_status, ...), as the delivery log shows
	// it; the error itself is only in the workers' logs.
	Error     string
	Succeeded bool
	// Settled: the delivery was no longer pending, so nothing was sent.
	Settled bool
	// Gone: the endpoint is disabled or its address is forbidden; no retry can help.
	Gone bool
}

// WebhookDeliveryFailure ends a delivery the endpoint never accepted.
type WebhookDeliveryFailure struct {
	DeliveryID string
	// Reason is for the workers' log; the delivery log keeps its last attempt's error class.
	Reason string
}

// WebhookEndpoint is an endpoint as merchants see it. Secret is shown once: in the answer
// that creates the endpoint or rolls its secret.
type WebhookEndpoint struct {
	ID            string   `json:"id"`
	Object        string   `json:"object"`
	URL           string   `json:"url"`
	Description   string   `json:"description,omitempty"`
	EnabledEvents []string `json:"enabled_events"`
	Status        string   `json:"status"`
	Secret        string   `json:"secret,omitempty"`
	// PreviousSecretExpires is set during a rotation: until then deliveries carry a
	// signature with the previous secret too.
	PreviousSecretExpires int64 `json:"previous_secret_expires,omitempty"`
	Created               int64 `json:"created"`
}

// WebhookDelivery is one event's delivery to one endpoint, with its attempts.
type WebhookDelivery struct {
	ID             string           `json:"id"`
	Object         string           `json:"object"`
	Endpoint       string           `json:"endpoint"`
	Event          string           `json:"event"`
	EventType      string           `json:"event_type"`
	Status         string           `json:"status"` // pending, succeeded, failed
	Attempts       int              `json:"attempts"`
	LastStatusCode int              `json:"last_status_code,omitempty"`
	LastError      string           `json:"last_error,omitempty"`
	RedeliveryOf   string           `json:"redelivery_of,omitempty"`
	Created        int64            `json:"created"`
	Completed      int64            `json:"completed,omitempty"`
	AttemptLog     []WebhookAttempt `json:"attempt_log,omitempty"`
}

// WebhookAttempt is one HTTP attempt of a delivery.
type WebhookAttempt struct {
	Attempt    int    `json:"attempt"`
	At         int64  `json:"at"`
	DurationMS int    `json:"duration_ms"`
	StatusCode int    `json:"status_code,omitempty"`
	Error      string `json:"error,omitempty"`
}
