package eventbus_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/sirupsen/logrus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/durapay/durapay/internal/platform/eventbus"
)

const topic = "durapay.test.v1"

func startBroker(t *testing.T) []string {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := eventbus.EnsureTopics(ctx, brokers, []string{topic}, 3, 1); err != nil {
		t.Fatal(err)
	}
	if err := eventbus.EnsureTopics(ctx, brokers, []string{eventbus.TopicDeadLetters}, eventbus.DeadLetterPartitions, 1); err != nil {
		t.Fatal(err)
	}
	return brokers
}

// recorder is a handler that fails the messages it is told to, and counts every call.
type recorder struct {
	mu      sync.Mutex
	calls   map[string]int
	handled map[string]bool
	fail    func(key string, call int) error
}

func (r *recorder) handle(_ context.Context, m kafka.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := string(m.Key)
	r.calls[key]++
	if err := r.fail(key, r.calls[key]); err != nil {
		return err
	}
	r.handled[key] = true
	return nil
}

func (r *recorder) snapshot() (map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls := map[string]int{}
	for k, v := range r.calls {
		calls[k] = v
	}
	return calls, len(r.handled)
}

func consumerConfig(brokers []string, group string, w *kafka.Writer, reg prometheus.Registerer) eventbus.ConsumerConfig {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return eventbus.ConsumerConfig{Brokers: brokers, Group: group, Topics: []string{topic}, Readers: 2, Attempts: 3,
		Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxWait: 50 * time.Millisecond,
		SessionTimeout: 6 * time.Second, DeadLetters: w, Log: logrus.NewEntry(log), Metrics: eventbus.NewConsumerMetrics(reg)}
}

func TestConsumerRetriesDeadLettersAndReplays(t *testing.T) {
	brokers := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := eventbus.NewWriter(brokers)
	defer w.Close()
	var msgs []kafka.Message
	for i := 0; i < 20; i++ {
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(fmt.Sprintf("k%02d", i)), Value: []byte(`{}`)})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	// k03 fails twice then works (retried); k07 always fails (dead-lettered after 3 tries);
	// k11 is permanent (dead-lettered at once).
	broken := true
	rec := &recorder{calls: map[string]int{}, handled: map[string]bool{}, fail: func(key string, call int) error {
		switch {
		case key == "k03" && call <= 2:
			return errors.New("SES is throttling")
		case key == "k07" && broken:
			return errors.New("Postgres is down")
		case key == "k11" && broken:
			return eventbus.Permanent(errors.New("not JSON"))
		}
		return nil
	}}
	reg := prometheus.NewRegistry()
	cfg := consumerConfig(brokers, "notifier-test", w, reg)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eventbus.Consume(runCtx, cfg, rec.handle) }()

	waitFor(t, func() bool { _, n := rec.snapshot(); return n == 18 })
	letters := waitForLetters(t, ctx, brokers, 2)
	calls, _ := rec.snapshot()
	if calls["k03"] != 3 || calls["k07"] != 3 || calls["k11"] != 1 {
		t.Errorf("calls k03=%d k07=%d k11=%d, want 3, 3 (bounded retries), 1 (permanent)", calls["k03"], calls["k07"], calls["k11"])
	}
	byKey := map[string]eventbus.DeadLetter{}
	for _, d := range letters {
		byKey[d.Key] = d
	}
	if d := byKey["k07"]; d.Topic != topic || d.Consumer != "notifier-test" || d.Reason != "Postgres is down" || d.Attempts != 3 {
		t.Errorf("dead letter k07 = %+v", d)
	}
	if d := byKey["k11"]; d.Attempts != 1 || d.Reason != "permanent failure: not JSON" {
		t.Errorf("dead letter k11 = %+v", d)
	}
	if got := counter(t, reg, "notifier-test", "dead_lettered"); got != 2 {
		t.Errorf("dead_lettered = %v, want 2", got)
	}

	// Another group on the topic handled everything: a replay is not for it.
	other := &recorder{calls: map[string]int{}, handled: map[string]bool{}, fail: func(string, int) error { return nil }}
	otherCtx, stopOther := context.WithCancel(ctx)
	otherDone := make(chan error, 1)
	go func() {
		otherDone <- eventbus.Consume(otherCtx, consumerConfig(brokers, "analytics-test", w, prometheus.NewRegistry()), other.handle)
	}()
	waitFor(t, func() bool { _, n := other.snapshot(); return n == 20 })

	// The cause is fixed; the operator replays the dead letters.
	rec.mu.Lock()
	broken = false
	rec.mu.Unlock()
	if err := eventbus.Replay(ctx, w, letters); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, n := rec.snapshot(); return n == 20 })
	time.Sleep(300 * time.Millisecond) // let the other group see the replayed messages too
	if calls, _ := other.snapshot(); calls["k07"] != 1 || calls["k11"] != 1 {
		t.Errorf("the other group handled replayed messages: k07=%d k11=%d", calls["k07"], calls["k11"])
	}
	stop()
	stopOther()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-otherDone; err != nil {
		t.Fatal(err)
	}
}

func TestConsumerRestartResumesAfterTheLastCommit(t *testing.T) {
	brokers := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := eventbus.NewWriter(brokers)
	defer w.Close()
	write := func(from, to int) {
		var msgs []kafka.Message
		for i := from; i < to; i++ {
			msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(fmt.Sprintf("k%02d", i)), Value: []byte(`{}`)})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 10)
	rec := &recorder{calls: map[string]int{}, handled: map[string]bool{}, fail: func(string, int) error { return nil }}
	run := func() (stop func()) {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- eventbus.Consume(runCtx, consumerConfig(brokers, "restart-test", w, prometheus.NewRegistry()), rec.handle)
		}()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	stop := run()
	waitFor(t, func() bool { _, n := rec.snapshot(); return n == 10 })
	stop()
	write(10, 20)
	stop = run()
	waitFor(t, func() bool { _, n := rec.snapshot(); return n == 20 })
	stop()
	calls, _ := rec.snapshot()
	for k, n := range calls {
		if n != 1 {
			t.Errorf("%s handled %d times across a clean restart, want 1", k, n)
		}
	}
}

// counter reads durapay_consumer_messages_total for a group and outcome.
func counter(t *testing.T, reg *prometheus.Registry, group, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "durapay_consumer_messages_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["group"] == group && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func waitForLetters(t *testing.T, ctx context.Context, brokers []string, n int) []eventbus.DeadLetter {
	t.Helper()
	var letters []eventbus.DeadLetter
	waitFor(t, func() bool {
		var err error
		letters, err = eventbus.ReadDeadLetters(ctx, brokers, 0, 100)
		return err == nil && len(letters) == n
	})
	return letters
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
