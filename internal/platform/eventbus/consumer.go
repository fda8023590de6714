package eventbus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/sirupsen/logrus"
)

// TopicDeadLetters holds the messages a consumer gave up on, with the reason in headers.
const TopicDeadLetters = "durapay.dead-letters.v1"

// Headers of a dead letter, next to the original message's own.
const (
	HeaderDLQTopic     = "dlq-topic"
	HeaderDLQPartition = "dlq-partition"
	HeaderDLQOffset    = "dlq-offset"
	HeaderDLQConsumer  = "dlq-consumer"
	HeaderDLQReason    = "dlq-reason"
	HeaderDLQAttempts  = "dlq-attempts"
	HeaderDLQFailedAt  = "dlq-failed-at"
	// HeaderReplayFor marks a replayed message: only the named consumer group acts on it;
	// the others, which handled the original, pass it by.
	HeaderReplayFor = "replay-for"
)

// ErrPermanent marks a message no retry can help (it is not JSON, it breaks its schema):
// the consumer dead-letters it at once.
var ErrPermanent = errors.New("permanent failure")

// Permanent wraps err as ErrPermanent.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// Handler acts on one message. It must be idempotent: after a crash between acting and
// committing, the message comes again.
type Handler func(ctx context.Context, m kafka.Message) error

// ConsumerConfig configures Consume.
type ConsumerConfig struct {
	Brokers []string
	Group   string
	Topics  []string
	// Readers is how many group members this process runs, each handling the partitions the
	// group gives it, one message at a time (so a partition's order is kept).
	Readers int
	// Attempts bounds the tries of one message; Backoff is the first wait between them,
	// doubling up to MaxBackoff.
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxWait bounds how long a fetch waits for more data: the consumer's added latency.
	MaxWait time.Duration
	// SessionTimeout is how soon the group notices a member that died without leaving.
	SessionTimeout time.Duration
	// DeadLetters writes to TopicDeadLetters (NewWriter).
	DeadLetters *kafka.Writer
	Log         *logrus.Entry
	Metrics     *ConsumerMetrics
}

// ConsumerMetrics counts what consumers do, by group and outcome.
type ConsumerMetrics struct {
	messages *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

// NewConsumerMetrics registers the consumer metrics with reg.
func NewConsumerMetrics(reg prometheus.Registerer) *ConsumerMetrics {
	m := &ConsumerMetrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "durapay_consumer_messages_total",
			Help: "Kafka messages handled, by consumer group and outcome (ok, retried, dead_lettered, skipped).",
		}, []string{"group", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "durapay_consumer_handle_seconds",
			Help:    "Time to handle one message, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"group"}),
	}
	reg.MustRegister(m.messages, m.seconds)
	return m
}

func (m *ConsumerMetrics) count(group, outcome string) {
	if m != nil {
		m.messages.WithLabelValues(group, outcome).Inc()
	}
}

// Consume runs the consumer group until ctx ends: fetch a message, handle it (retrying),
// and only then commit its offset. A message that still fails after cfg.Attempts goes to the
// dead-letter topic with the reason, and is committed: one bad message must not stop its
// partition for good. If even the dead-letter write fails, nothing is committed and the
// reader stops with the error (the message comes again after a restart).
func Consume(ctx context.Context, cfg ConsumerConfig, h Handler) error {
	if cfg.Readers < 1 || cfg.Attempts < 1 || cfg.DeadLetters == nil || cfg.Log == nil {
		return errors.New("eventbus: consumer needs Readers, Attempts, DeadLetters and Log")
	}
	errs := make(chan error, cfg.Readers)
	for i := 0; i < cfg.Readers; i++ {
		go func() { errs <- consumeOne(ctx, cfg, h) }()
	}
	var first error
	for i := 0; i < cfg.Readers; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func consumeOne(ctx context.Context, cfg ConsumerConfig, h Handler) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     cfg.Brokers,
		GroupID:     cfg.Group,
		GroupTopics: cfg.Topics,
		StartOffset: kafka.FirstOffset, // a new group reads what is retained, misses nothing
		MinBytes:    1,
		MaxBytes:    10 << 20,
		MaxWait:     cfg.MaxWait,
		// Commits are synchronous (CommitInterval 0): CommitMessages returns once the offset
		// is stored, so "committed" means it.
		CommitInterval:    0,
		SessionTimeout:    cfg.SessionTimeout,
		HeartbeatInterval: max(cfg.SessionTimeout/6, 100*time.Millisecond),
		RebalanceTimeout:  cfg.SessionTimeout,
		ReadBackoffMin:    50 * time.Millisecond,
		ReadBackoffMax:    time.Second,
	})
	defer r.Close()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("consumer %s: fetch: %w", cfg.Group, err)
		}
		if err := handle(ctx, cfg, h, m); err != nil {
			if ctx.Err() != nil {
				return nil // stopping: the message comes again after the restart
			}
			return err
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("consumer %s: commit %s/%d@%d: %w", cfg.Group, m.Topic, m.Partition, m.Offset, err)
		}
	}
}

// handle runs the handler with retries, then dead-letters; nil means the message may be
// committed.
func handle(ctx context.Context, cfg ConsumerConfig, h Handler, m kafka.Message) error {
	if v, ok := header(m, HeaderReplayFor); ok && v != cfg.Group {
		cfg.Metrics.count(cfg.Group, "skipped")
		return nil
	}
	start := time.Now()
	if cfg.Metrics != nil {
		defer func() { cfg.Metrics.seconds.WithLabelValues(cfg.Group).Observe(time.Since(start).Seconds()) }()
	}
	// The logger is built on the first failure, not for every message.
	log := func() *logrus.Entry {
		return cfg.Log.WithFields(logrus.Fields{"group": cfg.Group, "topic": m.Topic, "partition": m.Partition, "offset": m.Offset})
	}
	wait := cfg.Backoff
	var err error
	attempt := 1
	for ; ; attempt++ {
		if err = h(ctx, m); err == nil {
			cfg.Metrics.count(cfg.Group, "ok")
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrPermanent) || attempt >= cfg.Attempts {
			break
		}
		cfg.Metrics.count(cfg.Group, "retried")
		log().WithError(err).WithField("attempt", attempt).Warn("message failed; retrying")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, cfg.MaxBackoff)
	}
	log().WithError(err).WithField("attempts", attempt).Error("message failed; dead-lettering it")
	dead := kafka.Message{Topic: TopicDeadLetters, Key: m.Key, Value: m.Value, Headers: append(withoutDLQHeaders(m.Headers),
		kafka.Header{Key: HeaderDLQTopic, Value: []byte(m.Topic)},
		kafka.Header{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
		kafka.Header{Key: HeaderDLQConsumer, Value: []byte(cfg.Group)},
		kafka.Header{Key: HeaderDLQReason, Value: []byte(err.Error())},
		kafka.Header{Key: HeaderDLQAttempts, Value: []byte(strconv.Itoa(attempt))},
		kafka.Header{Key: HeaderDLQFailedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339))},
	)}
	if werr := cfg.DeadLetters.WriteMessages(ctx, dead); werr != nil {
		return fmt.Errorf("consumer %s: dead-letter %s/%d@%d: %w", cfg.Group, m.Topic, m.Partition, m.Offset, werr)
	}
	cfg.Metrics.count(cfg.Group, "dead_lettered")
	return nil
}

func header(m kafka.Message, key string) (string, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// withoutDLQHeaders drops the headers a previous dead-lettering or replay added.
func withoutDLQHeaders(hs []kafka.Header) []kafka.Header {
	var out []kafka.Header
	for _, h := range hs {
		switch h.Key {
		case HeaderDLQTopic, HeaderDLQPartition, HeaderDLQOffset, HeaderDLQConsumer, HeaderDLQReason,
			HeaderDLQAttempts, HeaderDLQFailedAt, HeaderReplayFor:
			continue
		}
		out = append(out, h)
	}
	return out
}
