// The notifier process: two Kafka consumer groups. "durapay-notifier" turns events into
// emails (SES), texts (SNS) and merchant webhook deliveries (workflows on the webhooks task
// queue); "durapay-analytics" keeps the live per-minute figures. Each acts only on events
// Durapay recorded in its event log, from the recorded copy (internal/domain/eventlog), commits a
// message only after acting on it, and dead-letters what keeps failing (see
// internal/platform/eventbus).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/durapay/durapay/internal/domain/analytics"
	"github.com/durapay/durapay/internal/domain/eventlog"
	"github.com/durapay/durapay/internal/domain/notify"
	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/internal/platform/awsconf"
	"github.com/durapay/durapay/internal/platform/eventbus"
	"github.com/durapay/durapay/internal/platform/process"
	"github.com/durapay/durapay/schemas"
)

// Consumer groups. Renaming one starts it over from the oldest retained message.
const (
	groupNotifier  = "durapay-notifier"
	groupAnalytics = "durapay-analytics"
)

// notifierConfig is the process's configuration, read from the environment.
type notifierConfig struct {
	// Temporal (where webhook deliveries start), Postgres, Redis (the preferences cache and
	// daily caps), the data keys (customers' and merchants' addresses) and the log level.
	process.Base
	KafkaBrokers []string `env:"KAFKA_BROKERS, default=127.0.0.1:9092"`

	SES       awsconf.Service `env:", prefix=SES_"`
	SNS       awsconf.Service `env:", prefix=SNS_"`
	EmailFrom string          `env:"EMAIL_FROM, default=Durapay <notifications@durapay.dev>"`
	// SMSTopicARN sends texts to an SNS topic instead of phone numbers: local emulators only.
	SMSTopicARN string          `env:"SMS_TOPIC_ARN"`
	Webhooks    webhooks.Config `env:", prefix=WEBHOOK_"`
	// MerchantMessages: Durapay's own messages to merchants (key links, phone codes).
	MerchantMessages notify.MerchantMessagesConfig
	// Limits holds what the platform caps whatever merchants choose (SMS_DAILY_CAP).
	Limits notify.Limits

	// Readers per consumer group in this process; Attempts per message before it is
	// dead-lettered, waiting RetryBackoff (doubling up to RetryMaxBackoff) between them.
	Readers         int           `env:"NOTIFIER_READERS, default=2"`
	Attempts        int           `env:"NOTIFIER_ATTEMPTS, default=5"`
	RetryBackoff    time.Duration `env:"NOTIFIER_RETRY_BACKOFF, default=500ms"`
	RetryMaxBackoff time.Duration `env:"NOTIFIER_RETRY_MAX_BACKOFF, default=10s"`
	// MaxWait bounds a fetch's wait for more data (the analytics' freshness depends on it).
	MaxWait        time.Duration `env:"NOTIFIER_MAX_WAIT, default=200ms"`
	SessionTimeout time.Duration `env:"NOTIFIER_SESSION_TIMEOUT, default=10s"`

	HTTPAddr string `env:"NOTIFIER_HTTP_ADDR, default=127.0.0.1:9093"`
}

func main() { process.Main("notifier", run) }

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	var cfg notifierConfig
	p, err := process.Start(ctx, "notifier", getenv, stdout, &cfg, func() error {
		if cfg.Readers < 1 || cfg.Attempts < 1 {
			return errors.New("NOTIFIER_READERS and NOTIFIER_ATTEMPTS must be at least 1")
		}
		return cfg.Limits.Validate()
	})
	if err != nil {
		return err
	}
	defer p.Close()
	log := p.Log
	retryPolicy, err := cfg.Webhooks.RetryPolicy()
	if err != nil {
		return err
	}
	deadLetters := eventbus.NewWriter(cfg.KafkaBrokers)
	defer deadLetters.Close()

	sesCfg, err := cfg.SES.Load(ctx)
	if err != nil {
		return err
	}
	snsCfg, err := cfg.SNS.Load(ctx)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	consumerMetrics := eventbus.NewConsumerMetrics(reg)
	notifier := notify.New(notify.Deps{Pool: p.Pool, Redis: p.Redis, DataKeys: p.DataKeys,
		Email: notify.NewSES(sesCfg, cfg.EmailFrom), SMS: notify.NewSNS(snsCfg, cfg.SMSTopicARN),
		Temporal: p.Temporal, RetryPolicy: retryPolicy, Limits: cfg.Limits, Log: log, Registerer: reg})
	figures := analytics.NewStore(p.Pool)
	reg.MustRegister(figures, notify.NewUnconfirmedCollector(p.Pool))

	consumer := func(group string, topics []string) eventbus.ConsumerConfig {
		return eventbus.ConsumerConfig{Brokers: cfg.KafkaBrokers, Group: group, Topics: topics, Readers: cfg.Readers,
			Attempts: cfg.Attempts, Backoff: cfg.RetryBackoff, MaxBackoff: cfg.RetryMaxBackoff, MaxWait: cfg.MaxWait,
			SessionTimeout: cfg.SessionTimeout, DeadLetters: deadLetters, Log: log, Metrics: consumerMetrics}
	}
	srv := &http.Server{Addr: cfg.HTTPAddr, Handler: healthAndMetrics(reg), ReadHeaderTimeout: 5 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return eventbus.Consume(gctx, consumer(groupNotifier, schemas.EventTopics()), eventlog.Authentic(p.Pool, notifier.Handle))
	})
	g.Go(func() error {
		return eventbus.Consume(gctx, consumer(groupAnalytics, []string{schemas.TopicPayments}), eventlog.Authentic(p.Pool, countEvent(figures)))
	})
	g.Go(func() error { return notifier.SendMerchantMessages(gctx, p.Pool, cfg.MerchantMessages) })
	g.Go(func() error {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("health and metrics server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	})
	log.WithField("groups", []string{groupNotifier, groupAnalytics}).Info("consuming")
	err = g.Wait()
	log.Info("stopped")
	return err
}

// countEvent is the analytics consumer's handler.
func countEvent(figures *analytics.Store) eventbus.Handler {
	return func(ctx context.Context, m kafka.Message) error {
		var ev schemas.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			return eventbus.Permanent(err)
		}
		_, err := figures.Apply(ctx, groupAnalytics, ev, m.Time)
		if errors.Is(err, analytics.ErrBadEvent) {
			return eventbus.Permanent(err)
		}
		return err
	}
}

func healthAndMetrics(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}
