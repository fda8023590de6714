package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/internal/domain/eventlog"
	"github.com/durapay/durapay/internal/platform/eventbus"
	"github.com/durapay/durapay/internal/platform/pgtest"
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
	pool := pgtest.NewPool(t)
	env.RegisterActivity(activities.NewEvents(writer, pool))
	payment := schemas.Payment{ID: schemas.PaymentID("mer_ev", "k"), Object: "payment", Merchant: "mer_ev", Amount: 100, Currency: "usd",
		Status: schemas.PaymentSucceeded, CaptureMethod: schemas.CaptureAutomatic, PaymentMethod: "pm_card_visa",
		Metadata: map[string]string{}, AmountCaptured: 100, StripePaymentIntentID: "pi_1", Created: 1_700_000_000}
	data, _ := json.Marshal(payment)
	req := schemas.PublishEventRequest{Topic: schemas.TopicPayments, Key: payment.ID, Event: schemas.Event{
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
	recorded, err := eventlog.Get(ctx, pool, req.Event.ID)
	if err != nil || recorded.Topic != schemas.TopicPayments || recorded.Merchant != "mer_ev" || recorded.Key != payment.ID {
		t.Fatalf("event log: %+v %v; want the event recorded before it was published", recorded, err)
	}
}

// What consumers act on is the event log's copy: a message for an event Durapay never
// emitted, or on another topic than it was emitted on, is refused for good; a recorded one
// reaches the handler with the recorded bytes, whatever the message carried.
func TestOnlyRecordedEventsAreAuthentic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	ev := schemas.Event{ID: "evt_real", Type: schemas.EventPaymentSucceeded, Created: 1_700_000_000, Merchant: "mer_a", SchemaVersion: 1,
		Data: json.RawMessage(`{"amount":100}`)}
	recorded, err := eventlog.Record(ctx, pool, schemas.TopicPayments, "pay_1", ev)
	if err != nil {
		t.Fatal(err)
	}
	var got []kafka.Message
	handle := eventlog.Authentic(pool, func(_ context.Context, m kafka.Message) error {
		got = append(got, m)
		return nil
	})
	forged := ev
	forged.Data = json.RawMessage(`{"amount":999999}`)
	forgedValue, _ := json.Marshal(forged)
	unknown := ev
	unknown.ID = "evt_forged"
	unknownValue, _ := json.Marshal(unknown)
	for _, tt := range []struct {
		name  string
		msg   kafka.Message
		admit bool
	}{
		{"recorded, with the message's body tampered", kafka.Message{Topic: schemas.TopicPayments, Key: []byte("pay_x"), Value: forgedValue}, true},
		{"an ID Durapay never emitted", kafka.Message{Topic: schemas.TopicPayments, Value: unknownValue}, false},
		{"recorded, but on another topic", kafka.Message{Topic: schemas.TopicMerchants, Value: forgedValue}, false},
		{"no event at all", kafka.Message{Topic: schemas.TopicPayments, Value: []byte("{}")}, false},
	} {
		got = nil
		err := handle(ctx, tt.msg)
		switch {
		case tt.admit && (err != nil || len(got) != 1 || string(got[0].Value) != string(recorded) || string(got[0].Key) != "pay_1"):
			t.Errorf("%s: %v, handed %d messages; want the recorded copy", tt.name, err, len(got))
		case !tt.admit && (!errors.Is(err, eventbus.ErrPermanent) || !errors.Is(err, eventlog.ErrNotEmitted) || len(got) != 0):
			t.Errorf("%s: %v; want a permanent refusal and nothing handled", tt.name, err)
		}
	}
}
