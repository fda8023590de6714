// Package eventbus configures Durapay's Kafka producer and creates its topics.
package eventbus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// NewWriter returns the producer every publishing activity shares.
//
//   - RequiredAcks = all in-sync replicas: an acknowledged event survives a broker loss
//     (kafka-go's default is no acknowledgement at all).
//   - Synchronous writes: WriteMessages returns only once the broker has acknowledged, so the
//     activity's success means the event is stored.
//   - A bounded number of attempts inside one write; beyond it the activity fails and
//     Temporal retries it later with the same deterministic event ID.
//   - Hash balancing on the message key keeps one object's events in order on one partition.
//   - A short batch timeout: kafka-go waits up to BatchTimeout (1 s by default) to fill a
//     batch, which a synchronous single-event write would spend idle.
func NewWriter(brokers []string) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Balancer:               &kafka.Hash{},
		RequiredAcks:           kafka.RequireAll,
		Async:                  false,
		MaxAttempts:            5,
		WriteBackoffMin:        50 * time.Millisecond,
		WriteBackoffMax:        time.Second,
		BatchTimeout:           2 * time.Millisecond,
		WriteTimeout:           10 * time.Second,
		AllowAutoTopicCreation: false,
	}
}

// EnsureTopics creates the topics that do not exist yet. Existing topics are left as they are.
func EnsureTopics(ctx context.Context, brokers []string, topics []string, partitions, replication int) error {
	if len(brokers) == 0 {
		return errors.New("no Kafka brokers configured")
	}
	dialer := &kafka.Dialer{Timeout: 5 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return fmt.Errorf("reach Kafka at %s: %w", brokers[0], err)
	}
	defer conn.Close()
	controller, err := conn.Controller()
	if err != nil {
		return fmt.Errorf("find Kafka controller: %w", err)
	}
	cc, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(controller.Host, strconv.Itoa(controller.Port)))
	if err != nil {
		return fmt.Errorf("reach Kafka controller: %w", err)
	}
	defer cc.Close()
	configs := make([]kafka.TopicConfig, len(topics))
	for i, t := range topics {
		configs[i] = kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: replication}
	}
	err = cc.CreateTopics(configs...)
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topics %v: %w", topics, err)
	}
	return nil
}
