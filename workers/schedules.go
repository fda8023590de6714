package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/durapay/durapay/schemas"
)

// historyArchiveOverlap is how far before its saved position the history archive lists
// closed workflows again: far longer than visibility ever lags behind a workflow's close.
const historyArchiveOverlap = 10 * time.Minute

// archiveRetentionMargin is how much longer than the archive's period Temporal must keep a
// closed workflow: the time to notice that the archive fails (its runs fail every period)
// and to mend it, before a history could be deleted unarchived.
const archiveRetentionMargin = 12 * time.Hour

// checkArchiveRetention refuses to archive from a namespace whose retention could delete a
// closed payment's history before the archive has read it.
func checkArchiveRetention(ctx context.Context, tc client.Client, namespace string, every time.Duration) error {
	d, err := tc.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("read the retention of namespace %s: %w", namespace, err)
	}
	return archiveOutrunsRetention(d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(), every)
}

func archiveOutrunsRetention(retention, every time.Duration) error {
	if retention < every+archiveRetentionMargin {
		return fmt.Errorf("the namespace keeps closed workflows %s, and the history archive runs every %s (HISTORY_ARCHIVE_EVERY): "+
			"raise the namespace's retention to at least %s, or archive more often", retention, every, every+archiveRetentionMargin)
	}
	return nil
}

// schedule is one of Durapay's Temporal Schedules, kept by the workers that serve its task
// queue.
type schedule struct {
	id     string
	spec   client.ScheduleSpec
	action *client.ScheduleWorkflowAction
	// off removes the schedule: its setting turns it off, and one left from an earlier
	// setting would go on running.
	off bool
}

func schedules(cfg workerConfig) []schedule {
	var out []schedule
	if cfg.StripeEventsBackfillEvery > 0 {
		out = append(out, schedule{
			id:   schemas.ScheduleStripeEventsBackfill,
			spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: cfg.StripeEventsBackfillEvery}}},
			action: &client.ScheduleWorkflowAction{Workflow: schemas.StripeEventsBackfillWorkflowName, TaskQueue: schemas.TaskQueuePayments,
				Args: []any{schemas.StripeEventsBackfillInput{Lookback: cfg.StripeEventsBackfillLookback, Overlap: 5 * time.Minute}}},
		})
	}
	if cfg.HistoryArchiveEvery > 0 {
		out = append(out, schedule{
			id:   schemas.ScheduleHistoryArchive,
			spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: cfg.HistoryArchiveEvery}}},
			action: &client.ScheduleWorkflowAction{Workflow: schemas.HistoryArchiveWorkflowName, TaskQueue: schemas.TaskQueueFinance,
				Args: []any{schemas.HistoryArchiveInput{Overlap: historyArchiveOverlap}}},
		})
	}
	// Hourly by default: a rewrite of the audit log before the last anchor shows, whoever
	// holds its key.
	out = append(out, schedule{
		id:   schemas.ScheduleAuditAnchor,
		off:  cfg.AuditAnchorEvery == 0,
		spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: cfg.AuditAnchorEvery}}},
		action: &client.ScheduleWorkflowAction{Workflow: schemas.AuditAnchorWorkflowName, TaskQueue: schemas.TaskQueueFinance,
			Args: []any{schemas.AuditAnchorInput{RetainFor: cfg.AuditAnchorRetain}}},
	})
	daily := func(id, cron, workflow string, arg any) schedule {
		return schedule{id: id, spec: client.ScheduleSpec{CronExpressions: []string{cron}},
			action: &client.ScheduleWorkflowAction{Workflow: workflow, TaskQueue: schemas.TaskQueueFinance, Args: []any{arg}}}
	}
	// Just after midnight UTC, for the day that ended; reconciliation after the reports, once
	// Stripe's balance transactions of the day have settled in; retention after both.
	return append(out,
		daily(schemas.ScheduleDailyReport, cfg.DailyReportCron, schemas.DailyReportWorkflowName, schemas.FinanceDayInput{}),
		daily(schemas.ScheduleReconciliation, cfg.ReconciliationCron, schemas.ReconciliationWorkflowName, schemas.FinanceDayInput{}),
		daily(schemas.ScheduleRetention, cfg.RetentionCron, schemas.RetentionWorkflowName, schemas.RetentionInput{Rules: cfg.retentionRules()}))
}

// ensureSchedules creates the schedules of the task queues this process serves, or updates
// their spec and action, and removes those turned off. Every worker process does so at
// start; they agree.
func ensureSchedules(ctx context.Context, tc client.Client, cfg workerConfig) error {
	for _, s := range schedules(cfg) {
		if !slices.Contains(cfg.TaskQueues, s.action.TaskQueue) {
			continue
		}
		if s.off {
			var missing *serviceerror.NotFound
			if err := tc.ScheduleClient().GetHandle(ctx, s.id).Delete(ctx); err != nil && !errors.As(err, &missing) {
				return fmt.Errorf("remove schedule %s: %w", s.id, err)
			}
			continue
		}
		s.action.ID = s.id
		s.action.WorkflowRunTimeout = time.Hour
		_, err := tc.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID: s.id, Spec: s.spec, Action: s.action, Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			err = tc.ScheduleClient().GetHandle(ctx, s.id).Update(ctx, client.ScheduleUpdateOptions{
				DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					in.Description.Schedule.Spec = &s.spec
					in.Description.Schedule.Action = s.action
					return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
				},
			})
		}
		if err != nil {
			return fmt.Errorf("schedule %s: %w", s.id, err)
		}
	}
	return nil
}
