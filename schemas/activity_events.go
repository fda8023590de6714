package schemas

// The event and webhook activities' contract: publishing events, and delivering them to
// merchants' endpoints. Registered names live in stored histories: never rename one.

// PublishEventName is the activity's registered name.
const PublishEventName = "events.Publish"

// PublishEventRequest is one event for one topic.
type PublishEventRequest struct {
	Topic string
	// Key is the ID of the object the event is about; it picks the partition.
	Key   string
	Event Event
}

// Registered names of the webhook activities.
const (
	DeliverWebhookName       = "webhooks.Deliver"
	RecordWebhookAttemptName = "webhooks.RecordAttempt"
	FailWebhookDeliveryName  = "webhooks.FailDelivery"
)
