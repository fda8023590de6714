package main

import (
	"fmt"
	"slices"
	"time"
)

// workerConfig is the worker process's configuration, read from the environment.
type workerConfig struct {
	TemporalAddress   string   `env:"TEMPORAL_ADDRESS, default=127.0.0.1:7233"`
	TemporalNamespace string   `env:"TEMPORAL_NAMESPACE, default=default"`
	TaskQueues        []string `env:"TASK_QUEUES, default=payments"`

	DatabaseURL      string `env:"DATABASE_URL, default=postgres://postgres@127.0.0.1:5432/durapay?sslmode=disable" secret:"url"`
	DatabaseMaxConns int32  `env:"DATABASE_MAX_CONNS, default=20"`

	KafkaBrokers []string `env:"KAFKA_BROKERS, default=127.0.0.1:9092"`

	StripeAPIBase   string        `env:"STRIPE_API_BASE, default=https://api.stripe.com"`
	StripeSecretKey string        `env:"STRIPE_SECRET_KEY, required" secret:"true"`
	StripeTimeout   time.Duration `env:"STRIPE_TIMEOUT, default=15s"`
	// StripeRateLimit is this process's share of the account's Stripe request rate, per second.
	StripeRateLimit float64 `env:"STRIPE_RATE_LIMIT, default=25"`

	MaxConcurrentActivities      int `env:"WORKER_MAX_CONCURRENT_ACTIVITIES, default=200"`
	MaxConcurrentLocalActivities int `env:"WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES, default=200"`
	MaxConcurrentWorkflowTasks   int `env:"WORKER_MAX_CONCURRENT_WORKFLOW_TASKS, default=100"`

	HTTPAddr        string        `env:"WORKER_HTTP_ADDR, default=127.0.0.1:9091"`
	LogLevel        string        `env:"LOG_LEVEL, default=info"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT, default=30s"`
}

func (c workerConfig) validate(known []string) error {
	if len(c.TaskQueues) == 0 {
		return fmt.Errorf("TASK_QUEUES is empty")
	}
	for _, q := range c.TaskQueues {
		if !slices.Contains(known, q) {
			return fmt.Errorf("TASK_QUEUES names %q; this build serves %v", q, known)
		}
	}
	if c.StripeRateLimit <= 0 {
		return fmt.Errorf("STRIPE_RATE_LIMIT must be positive")
	}
	return nil
}
