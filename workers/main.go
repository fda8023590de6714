// The worker process: it runs Durapay's workflows and activities on the task queues its
// configuration names (TASK_QUEUES), so pools can scale apart.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/worker"
	"golang.org/x/time/rate"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/internal/domain/archive"
	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/stripeevents"
	"github.com/durapay/durapay/internal/platform/breaker"
	"github.com/durapay/durapay/internal/platform/eventbus"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/process"
	"github.com/durapay/durapay/internal/platform/stripeclient"
	"github.com/durapay/durapay/schemas"
)

func main() { process.Main("workers", run) }

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	var cfg workerConfig
	p, err := process.Start(ctx, "workers", getenv, stdout, &cfg, nil)
	if err != nil {
		return err
	}
	defer p.Close()
	log, pool, rdb, tc, dataKeys := p.Log, p.Pool, p.Redis, p.Temporal, p.DataKeys
	kafkaWriter := eventbus.NewWriter(cfg.KafkaBrokers)
	defer kafkaWriter.Close()

	// One client for every activity: each of its calls passes the same limiter and breaker.
	stripeAPI := stripeclient.New(stripeclient.Config{SecretKey: cfg.StripeSecretKey, APIBase: cfg.StripeAPIBase, Timeout: cfg.StripeTimeout,
		Limiter: rate.NewLimiter(rate.Limit(cfg.StripeRateLimit), max(1, int(cfg.StripeRateLimit/5))),
		Breaker: breaker.New(breaker.Settings{Name: breaker.Stripe, FailureRatio: cfg.StripeBreakerFailureRatio,
			MinRequests: cfg.StripeBreakerMinRequests, OpenTimeout: cfg.StripeBreakerOpenTimeout, Interval: cfg.StripeBreakerInterval},
			rdb, log, stripeclient.IsOutage)})
	webhookClient, err := cfg.Webhooks.Client()
	if err != nil {
		return err
	}
	reports, err := objectstore.New(ctx, cfg.S3)
	if err != nil {
		return err
	}
	auditKeys, err := cfg.Audit.Keyring()
	if err != nil {
		return err
	}
	anchors, err := cfg.Audit.OpenAnchors(ctx, cfg.S3)
	if err != nil {
		return err
	}
	histories, err := objectstore.New(ctx, cfg.S3.WithBucket(cfg.HistoryArchiveBucket))
	if err != nil {
		return err
	}
	d := deps{
		stripe:       activities.NewStripe(stripeAPI),
		onboarding:   activities.NewOnboarding(pool, stripeAPI, dataKeys),
		stripeEvents: activities.NewStripeEvents(stripeAPI, stripeevents.NewRouter(pool, tc), pool),
		finance:      activities.NewFinance(pool, reports, stripeAPI),
		store:        activities.NewStore(pool),
		audit:        activities.NewAudit(audit.NewLog(pool, auditKeys), anchors),
		events:       activities.NewEvents(kafkaWriter, pool),
		webhooks:     activities.NewWebhooks(pool, dataKeys, webhookClient),
		archive: activities.NewHistoryArchive(tc,
			archive.New(pool, histories, archive.Lock{Mode: cfg.HistoryArchiveLock, Retain: cfg.HistoryArchiveRetain}), pool),
	}
	regs := registrations(d)
	if err := cfg.validate(taskQueues(regs)); err != nil {
		return err
	}
	if slices.Contains(cfg.TaskQueues, schemas.TaskQueueFinance) && cfg.HistoryArchiveEvery > 0 {
		if err := checkArchiveRetention(ctx, tc, cfg.TemporalNamespace, cfg.HistoryArchiveEvery); err != nil {
			return err
		}
	}
	if err := ensureSchedules(ctx, tc, cfg); err != nil {
		return err
	}

	var started []worker.Worker
	// Stopping a worker waits for its in-flight tasks, up to WorkerStopTimeout.
	defer func() {
		for _, w := range started {
			w.Stop()
		}
		log.Info("stopped")
	}()
	for _, r := range regs {
		if !slices.Contains(cfg.TaskQueues, r.taskQueue) {
			continue
		}
		w := worker.New(tc, r.taskQueue, worker.Options{
			MaxConcurrentActivityExecutionSize:      cfg.MaxConcurrentActivities,
			MaxConcurrentLocalActivityExecutionSize: cfg.MaxConcurrentLocalActivities,
			MaxConcurrentWorkflowTaskExecutionSize:  cfg.MaxConcurrentWorkflowTasks,
			WorkerStopTimeout:                       cfg.ShutdownTimeout,
			Interceptors:                            activities.WorkerInterceptors(),
		})
		register(w, r)
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker for %s: %w", r.taskQueue, err)
		}
		started = append(started, w)
		log.WithField("task_queue", r.taskQueue).Info("serving task queue")
	}

	srv := &http.Server{Addr: cfg.HTTPAddr, Handler: healthAndMetrics(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Error("health and metrics server failed")
		}
	}()
	<-ctx.Done()
	log.Info("shutting down: draining in-flight tasks")
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	_ = srv.Shutdown(shutdownCtx)
	return nil
}

func healthAndMetrics() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("GET /metrics", promhttp.Handler())
	return mux
}
