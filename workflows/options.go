// Package workflows holds Durapay's deterministic workflow code. It reads no clock, config,
// environment or randomness of the process: only its input, workflow time and activity
// results. workflowcheck and replay tests hold it to that.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The few retry and timeout policies workflows use, by purpose.
var (
	// stripeCall is a Stripe request, run as a local activity: the customer or the merchant
	// is often waiting for it. Retries (5xx, network, 429, an open circuit breaker) reuse the
	// step's idempotency key. ScheduleToCloseTimeout, the retry budget, comes from the
	// payment's policy (12 hours by default, at most 20): well inside the 24 hours during
	// which Stripe still recognises the key, so no retry can ever act twice. When the budget
	// is spent the payment is parked for an operator. Declines and invalid requests are
	// marked non-retryable by the activity.
	stripeCall = workflow.LocalActivityOptions{
		StartToCloseTimeout: 20 * time.Second, // above the Stripe client's 15 s HTTP timeout
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    250 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	}

	// dbWrite is one short Postgres transaction, run as a local activity. It retries without
	// a limit: the write is idempotent and the payment must not move on unrecorded.
	dbWrite = workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    100 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	}

	// eventPublish is a Kafka write after the client has its answer, as a regular activity.
	// It retries without a limit: the event ID is deterministic and consumers dedupe.
	eventPublish = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	}

	// financeWork is a report or a reconciliation: minutes of reading and writing, retried
	// for a while (the next day's schedule comes anyway, and a manual run can redo a day).
	financeWork = workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    10,
		},
	}

	// anchorWrite reads one row and writes one small object (the audit log's anchor):
	// retried a few times, then the schedule's next run anchors anew.
	anchorWrite = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    5,
		},
	}

	// providerSync reads another system's history in pages (the Stripe events backfill,
	// Temporal's closed workflows for the history archive): a regular activity that
	// heartbeats, retried a few times; the schedule runs it again soon.
	providerSync = workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    3,
		},
	}
)
