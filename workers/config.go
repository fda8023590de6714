package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/durapay/durapay/internal/domain/audit"
	"github.com/durapay/durapay/internal/domain/webhooks"
	"github.com/durapay/durapay/internal/platform/objectstore"
	"github.com/durapay/durapay/internal/platform/process"
	"github.com/durapay/durapay/schemas"
)

// workerConfig is the worker process's configuration, read from the environment.
type workerConfig struct {
	// Temporal, Postgres, Redis (where the circuit breaker shares its state with
	// frontend-api), the data keys (merchants' and customers' profiles, opened where Stripe
	// needs them) and the log level.
	process.Base
	// Audit keys the audit log's rows that workflows append (operators' decisions), and names
	// the bucket of its anchors.
	Audit      audit.Config
	TaskQueues []string `env:"TASK_QUEUES, default=payments,finance,webhooks"`

	KafkaBrokers []string `env:"KAFKA_BROKERS, default=127.0.0.1:9092"`

	StripeAPIBase   string        `env:"STRIPE_API_BASE, default=https://api.stripe.com"`
	StripeSecretKey string        `env:"STRIPE_SECRET_KEY, required" secret:"true"`
	StripeTimeout   time.Duration `env:"STRIPE_TIMEOUT, default=15s"`
	// StripeRateLimit is this process's share of the account's Stripe request rate, per second.
	StripeRateLimit float64 `env:"STRIPE_RATE_LIMIT, default=25"`
	// The circuit breaker around Stripe: it opens when at least STRIPE_BREAKER_FAILURE_RATIO
	// of the calls in STRIPE_BREAKER_INTERVAL failed (once STRIPE_BREAKER_MIN_REQUESTS were
	// made), and lets a trial call through after STRIPE_BREAKER_OPEN_TIMEOUT.
	StripeBreakerFailureRatio float64       `env:"STRIPE_BREAKER_FAILURE_RATIO, default=0.5"`
	StripeBreakerMinRequests  uint32        `env:"STRIPE_BREAKER_MIN_REQUESTS, default=10"`
	StripeBreakerOpenTimeout  time.Duration `env:"STRIPE_BREAKER_OPEN_TIMEOUT, default=30s"`
	StripeBreakerInterval     time.Duration `env:"STRIPE_BREAKER_INTERVAL, default=60s"`
	// StripeEventsBackfillEvery is how often the schedule reads Stripe's Events list for
	// events no webhook brought; 0 leaves the schedule as it is (or absent).
	StripeEventsBackfillEvery    time.Duration `env:"STRIPE_EVENTS_BACKFILL_EVERY, default=1m"`
	StripeEventsBackfillLookback time.Duration `env:"STRIPE_EVENTS_BACKFILL_LOOKBACK, default=72h"`

	// Finance's daily schedules (cron, UTC) and the bucket reports are written to.
	DailyReportCron    string             `env:"DAILY_REPORT_CRON, default=15 0 * * *"`
	ReconciliationCron string             `env:"RECONCILIATION_CRON, default=45 0 * * *"`
	S3                 objectstore.Config `env:", prefix=S3_"`

	// The history archive: every HistoryArchiveEvery (0 leaves the schedule as it is, or
	// absent), the histories of the payments and refunds that closed go to S3, in
	// HistoryArchiveBucket (empty: S3_BUCKET), each kept from deletion for
	// HistoryArchiveRetain from its close with an Object Lock of mode HistoryArchiveLock
	// (compliance, governance, or none for a bucket without Object Lock).
	HistoryArchiveEvery  time.Duration        `env:"HISTORY_ARCHIVE_EVERY, default=1m"`
	HistoryArchiveBucket string               `env:"HISTORY_ARCHIVE_BUCKET"`
	HistoryArchiveLock   objectstore.LockMode `env:"HISTORY_ARCHIVE_LOCK, default=compliance"`
	HistoryArchiveRetain time.Duration        `env:"HISTORY_ARCHIVE_RETAIN, default=61368h"`

	// The audit log's anchors: how often the schedule writes the chain's last row to the
	// anchors' bucket (0 removes the schedule), and how long each anchor is locked (S3
	// Object Lock, compliance mode; 7 years by default).
	AuditAnchorEvery  time.Duration `env:"AUDIT_ANCHOR_EVERY, default=1h"`
	AuditAnchorRetain time.Duration `env:"AUDIT_ANCHOR_RETAIN, default=61368h"`

	// Retention: a daily schedule deletes the rows that matter only for a while (see
	// internal/domain/retention). Notification claims and webhook deliveries are what stops a
	// replayed event from being sent twice, so they must outlive any replay: the Kafka
	// topics' retention and the time an operator may take to replay a dead letter.
	RetentionCron               string        `env:"RETENTION_CRON, default=30 1 * * *"`
	RetentionIdempotencyRecords time.Duration `env:"RETENTION_IDEMPOTENCY_RECORDS, default=720h"`
	RetentionStripeEvents       time.Duration `env:"RETENTION_STRIPE_EVENTS, default=2160h"`
	RetentionNotificationSends  time.Duration `env:"RETENTION_NOTIFICATION_SENDS, default=2160h"`
	RetentionWebhookDeliveries  time.Duration `env:"RETENTION_WEBHOOK_DELIVERIES, default=2160h"`
	// The inbox of events a consumer has applied (analytics) must outlive the topics'
	// retention, so that no redelivery is applied twice.
	RetentionConsumerInbox time.Duration `env:"RETENTION_CONSUMER_INBOX, default=336h"`
	// RetentionEvents keeps the event log: consumers act only on logged events, so it must
	// outlive any replay (dead letters are replayed up to 89 days after they failed).
	RetentionEvents time.Duration `env:"RETENTION_EVENTS, default=2160h"`

	// Webhooks: the SSRF guard's exceptions, extra roots and the HTTP timeout of deliveries.
	Webhooks webhooks.Config `env:", prefix=WEBHOOK_"`

	MaxConcurrentActivities      int `env:"WORKER_MAX_CONCURRENT_ACTIVITIES, default=200"`
	MaxConcurrentLocalActivities int `env:"WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES, default=200"`
	MaxConcurrentWorkflowTasks   int `env:"WORKER_MAX_CONCURRENT_WORKFLOW_TASKS, default=100"`

	HTTPAddr        string        `env:"WORKER_HTTP_ADDR, default=127.0.0.1:9091"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT, default=30s"`
}

func (c workerConfig) retentionRules() []schemas.RetentionRule {
	return []schemas.RetentionRule{
		{Table: schemas.PrunableIdempotencyRecords, Keep: c.RetentionIdempotencyRecords},
		{Table: schemas.PrunableStripeEvents, Keep: c.RetentionStripeEvents},
		{Table: schemas.PrunableNotificationSends, Keep: c.RetentionNotificationSends},
		{Table: schemas.PrunableWebhookDeliveries, Keep: c.RetentionWebhookDeliveries},
		{Table: schemas.PrunableConsumerInbox, Keep: c.RetentionConsumerInbox},
		{Table: schemas.PrunableEvents, Keep: c.RetentionEvents},
	}
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
	if c.StripeBreakerFailureRatio <= 0 || c.StripeBreakerFailureRatio > 1 {
		return fmt.Errorf("STRIPE_BREAKER_FAILURE_RATIO must be in (0, 1]")
	}
	if c.HistoryArchiveEvery < 0 || c.HistoryArchiveRetain <= 0 {
		return fmt.Errorf("HISTORY_ARCHIVE_EVERY must not be negative, HISTORY_ARCHIVE_RETAIN must be positive")
	}
	if c.AuditAnchorEvery < 0 || c.AuditAnchorRetain <= 0 {
		return fmt.Errorf("AUDIT_ANCHOR_EVERY must not be negative, AUDIT_ANCHOR_RETAIN must be positive")
	}
	for _, r := range c.retentionRules() {
		if r.Keep < schemas.MinRetention {
			return fmt.Errorf("the retention of %s is %s; it must be at least %s", r.Table, r.Keep, schemas.MinRetention)
		}
	}
	return nil
}
