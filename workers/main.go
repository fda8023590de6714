// The worker process: it runs Durapay's workflows and activities on the task queues its
// configuration names (TASK_QUEUES), so pools can scale apart.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/worker"
	"golang.org/x/time/rate"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/internal/breaker"
	"github.com/durapay/durapay/internal/config"
	"github.com/durapay/durapay/internal/eventbus"
	"github.com/durapay/durapay/internal/keyring"
	"github.com/durapay/durapay/internal/logging"
	"github.com/durapay/durapay/internal/objectstore"
	"github.com/durapay/durapay/internal/pg"
	"github.com/durapay/durapay/internal/stripeclient"
	"github.com/durapay/durapay/internal/stripeevents"
	"github.com/durapay/durapay/internal/temporalx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "workers:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	var cfg workerConfig
	if err := config.Load(ctx, getenv, &cfg); err != nil {
		return err
	}
	log, err := logging.New(stdout, cfg.LogLevel, "workers")
	if err != nil {
		return err
	}
	log.WithField("config", strings.Join(config.Describe(cfg), " ")).Info("starting")

	pool, err := pg.Connect(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()
	kafkaWriter := eventbus.NewWriter(cfg.KafkaBrokers)
	defer kafkaWriter.Close()
	redisOpts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(redisOpts)
	defer rdb.Close()

	dialCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	keys, err := temporalx.Keys(cfg.TemporalPayloadKeys)
	if err != nil {
		return err
	}
	if keys == nil {
		log.Warn("TEMPORAL_PAYLOAD_KEYS is empty: workflow payloads are stored in clear")
	}
	tc, err := temporalx.Dial(dialCtx, cfg.TemporalAddress, cfg.TemporalNamespace, logging.Temporal(log), keys)
	if err != nil {
		return err
	}
	defer tc.Close()

	stripeAPI := stripeclient.New(stripeclient.Config{SecretKey: cfg.StripeSecretKey, APIBase: cfg.StripeAPIBase, Timeout: cfg.StripeTimeout})
	stripeBreaker := breaker.New(breaker.Settings{Name: breaker.Stripe, FailureRatio: cfg.StripeBreakerFailureRatio,
		MinRequests: cfg.StripeBreakerMinRequests, OpenTimeout: cfg.StripeBreakerOpenTimeout, Interval: cfg.StripeBreakerInterval},
		rdb, log, activities.IsStripeOutage)
	dataKeys, err := keyring.Parse(cfg.DataKeys)
	if err != nil {
		return fmt.Errorf("DATA_KEYS: %w", err)
	}
	webhookClient, err := cfg.Webhooks.Client()
	if err != nil {
		return err
	}
	reports, err := objectstore.New(ctx, cfg.S3)
	if err != nil {
		return err
	}
	stripeActivities := activities.NewStripe(stripeAPI,
		rate.NewLimiter(rate.Limit(cfg.StripeRateLimit), max(1, int(cfg.StripeRateLimit/5))), stripeBreaker)
	d := deps{
		stripe:       stripeActivities,
		onboarding:   activities.NewOnboarding(pool, stripeActivities, dataKeys),
		stripeEvents: activities.NewStripeEvents(stripeAPI, stripeevents.NewRouter(pool, tc), pool),
		finance:      activities.NewFinance(pool, reports, stripeAPI),
		store:        activities.NewStore(pool),
		events:       activities.NewEvents(kafkaWriter),
		webhooks:     activities.NewWebhooks(pool, dataKeys, webhookClient),
	}
	regs := registrations(d)
	if err := cfg.validate(taskQueues(regs)); err != nil {
		return err
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
