package eventbus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// DeadLetterPartitions: dead letters are rare, and one partition lists them in the order
// they failed, addressed by one offset each.
const DeadLetterPartitions = 1

// DeadLetter is a message a consumer gave up on.
type DeadLetter struct {
	Offset   int64  `json:"offset"` // in the dead-letter topic
	Topic    string `json:"topic"`  // where it came from
	Consumer string `json:"consumer"`
	Reason   string `json:"reason"`
	Attempts int    `json:"attempts"`
	FailedAt string `json:"failed_at"`
	Key      string `json:"key"`
	Value    string `json:"value"`

	headers []kafka.Header
}

// ReadDeadLetters returns the dead letters from offset from on, at most limit, without
// consuming them (the topic is the record; replays do not remove anything).
func ReadDeadLetters(ctx context.Context, brokers []string, from int64, limit int) ([]DeadLetter, error) {
	conn, err := kafka.DialLeader(ctx, "tcp", brokers[0], TopicDeadLetters, 0)
	if err != nil {
		return nil, fmt.Errorf("reach the dead-letter topic: %w", err)
	}
	last, err := conn.ReadLastOffset()
	_ = conn.Close()
	if err != nil {
		return nil, fmt.Errorf("read the dead-letter topic's end: %w", err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: TopicDeadLetters, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(max(from, 0)); err != nil {
		return nil, err
	}
	var out []DeadLetter
	for len(out) < limit {
		if r.Offset() >= last {
			break
		}
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return out, fmt.Errorf("read dead letters: %w", err)
		}
		d := DeadLetter{Offset: m.Offset, Key: string(m.Key), Value: string(m.Value), headers: withoutDLQHeaders(m.Headers)}
		d.Topic, _ = header(m, HeaderDLQTopic)
		d.Consumer, _ = header(m, HeaderDLQConsumer)
		d.Reason, _ = header(m, HeaderDLQReason)
		d.FailedAt, _ = header(m, HeaderDLQFailedAt)
		attempts, _ := header(m, HeaderDLQAttempts)
		d.Attempts, _ = strconv.Atoi(attempts)
		out = append(out, d)
	}
	return out, nil
}

// Replay puts dead letters back on the topics they came from, marked for the consumer group
// that gave up on them (HeaderReplayFor): the other groups, which handled them, pass them by.
// Consumers are idempotent, so replaying a letter twice acts once.
func Replay(ctx context.Context, w *kafka.Writer, letters []DeadLetter) error {
	msgs := make([]kafka.Message, 0, len(letters))
	for _, d := range letters {
		if d.Topic == "" || d.Consumer == "" {
			return errors.New("dead letter at offset " + strconv.FormatInt(d.Offset, 10) + " names no topic or consumer")
		}
		msgs = append(msgs, kafka.Message{Topic: d.Topic, Key: []byte(d.Key), Value: []byte(d.Value),
			Headers: append(d.headers, kafka.Header{Key: HeaderReplayFor, Value: []byte(d.Consumer)})})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("replay %d dead letters: %w", len(msgs), err)
	}
	return nil
}
