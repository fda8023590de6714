package activities_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/internal/eventbus"
	"github.com/durapay/durapay/schemas"
)

func TestPublishEventTwiceCarriesOneEventID(t *testing.T) {
	t.Parallel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := eventbus.EnsureTopics(ctx, brokers, schemas.Topics(), 3, 1); err != nil {
		t.Fatal(err)
	}
	writer := eventbus.NewWriter(brokers)
	t.Cleanup(func() { _ = writer.Close() })

	env := newActivityEnv()
	env.RegisterActivity(activities.NewEvents(writer))
	payment := schemas.Payment{ID: schemas.PaymentID("mer_ev", "k"), Object: "payment", Merchant: "mer_ev", Amount: 100, Currency: "usd",
		Status: schemas.PaymentSucceeded, CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_visa",
		Metadata: map[string]string{}, AmountCaptured: 100, StripePaymentIntentID: "pi_1", Created: 1_700_000_000}
	data, _ := json.Marshal(payment)
	req := activities.PublishEventRequest{Topic: schemas.TopicPayments, Key: payment.ID, Event: schemas.Event{
		ID: schemas.EventID(payment.ID, schemas.EventPaymentSucceeded, "1"), Type: schemas.EventPaymentSucceeded,
		Created: 1_700_000_000, Merchant: "mer_ev", SchemaVersion: 1, Data: data}}
	for i := 0; i < 2; i++ { // a retried activity
		if _, err := env.ExecuteActivity((&activities.Events{}).PublishEvent, req); err != nil {
			t.Fatal(err)
		}
	}

	reader := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, GroupID: "test-consumer", Topic: schemas.TopicPayments, MaxWait: 100 * time.Millisecond})
	defer reader.Close()
	seen := map[string]int{}
	for i := 0; i < 2; i++ {
		msg, err := reader.FetchMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(msg.Key) != payment.ID {
			t.Errorf("key %q, want the payment ID", msg.Key)
		}
		if err := schemas.ValidateEvent(msg.Value); err != nil {
			t.Error(err)
		}
		var ev schemas.Event
		if err := json.Unmarshal(msg.Value, &ev); err != nil {
			t.Fatal(err)
		}
		seen[ev.ID]++
	}
	if len(seen) != 1 || seen[req.Event.ID] != 2 {
		t.Fatalf("events by ID: %v; want both copies under %s, so a consumer keeps one", seen, req.Event.ID)
	}
}
