package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/durapay/durapay/schemas"
)

// checkEventContracts reads every message on every topic that carries Durapay events, from
// the first offset, and checks each against the JSON Schema of its type and the registry
// (known type, published on its registered topic). TestMain runs it once the suite has
// passed, so that every event the end-to-end tests caused is checked, including those no
// test looked at. It reports each failure and a summary line to out.
func checkEventContracts(brokers []string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topics := schemas.EventTopics()
	checked, failed := 0, 0
	for _, topic := range topics {
		err := readTopic(ctx, brokers[0], topic, func(msg kafka.Message) {
			checked++
			if err := checkEventContract(topic, msg.Value); err != nil {
				failed++
				fmt.Fprintf(out, "event contracts: %s partition %d offset %d: %v\n", topic, msg.Partition, msg.Offset, err)
			}
		})
		if err != nil {
			return fmt.Errorf("event contracts: read %s: %w", topic, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("event contracts: %d of %d events on %d topics failed", failed, checked, len(topics))
	}
	fmt.Fprintf(out, "event contracts: %d events on %d topics validated\n", checked, len(topics))
	return nil
}

func checkEventContract(topic string, raw []byte) error {
	if err := schemas.ValidateEvent(raw); err != nil {
		return err
	}
	var ev schemas.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return err
	}
	et, ok := schemas.LookupEventType(ev.Type, ev.SchemaVersion)
	switch {
	case !ok:
		return fmt.Errorf("event %s (%s v%d) has no entry in schemas.EventTypes", ev.ID, ev.Type, ev.SchemaVersion)
	case et.Topic != topic:
		return fmt.Errorf("event %s (%s v%d) is registered for topic %s", ev.ID, ev.Type, ev.SchemaVersion, et.Topic)
	}
	return nil
}

// readTopic hands every message of every partition of the topic to fn, from each
// partition's first offset up to its end when the read starts.
func readTopic(ctx context.Context, broker, topic string, fn func(kafka.Message)) error {
	conn, err := kafka.DialContext(ctx, "tcp", broker)
	if err != nil {
		return err
	}
	partitions, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return err
	}
	for _, p := range partitions {
		if err := readPartition(ctx, broker, topic, p.ID, fn); err != nil {
			return fmt.Errorf("partition %d: %w", p.ID, err)
		}
	}
	return nil
}

func readPartition(ctx context.Context, broker, topic string, partition int, fn func(kafka.Message)) error {
	conn, err := kafka.DialLeader(ctx, "tcp", broker, topic, partition)
	if err != nil {
		return err
	}
	defer conn.Close()
	first, last, err := conn.ReadOffsets()
	if err != nil {
		return err
	}
	if first >= last {
		return nil
	}
	if _, err := conn.Seek(first, kafka.SeekAbsolute); err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	if err := conn.SetReadDeadline(deadline); err != nil {
		return err
	}
	for {
		msg, err := conn.ReadMessage(10 << 20)
		if err != nil {
			return err
		}
		fn(msg)
		if msg.Offset+1 >= last {
			return nil
		}
	}
}
