package main

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
	"github.com/durapay/durapay/workflows"
)

// Every workflow and activity Durapay runs, by task queue, under explicit names. The names
// are stored in workflow histories forever: review a change here like a public API change.
type registration struct {
	taskQueue  string
	workflows  []named
	activities []named
}

type named struct {
	name string
	fn   any
}

// deps are the activity structs, built once per process.
type deps struct {
	stripe       *activities.Stripe
	stripeEvents *activities.StripeEvents
	store        *activities.Store
	audit        *activities.Audit
	events       *activities.Events
	finance      *activities.Finance
	onboarding   *activities.Onboarding
	webhooks     *activities.Webhooks
	archive      *activities.HistoryArchive
}

func registrations(d deps) []registration {
	return []registration{{
		taskQueue: schemas.TaskQueuePayments,
		workflows: []named{
			{schemas.PaymentWorkflowName, workflows.PaymentWorkflow},
			{schemas.RefundWorkflowName, workflows.RefundWorkflow},
			{schemas.OnboardingWorkflowName, workflows.OnboardingWorkflow},
			{schemas.CustomerWorkflowName, workflows.CustomerWorkflow},
			{schemas.StripeEventsBackfillWorkflowName, workflows.StripeEventsBackfillWorkflow},
		},
		activities: []named{
			{activities.CreatePaymentIntentName, d.stripe.CreatePaymentIntent},
			{activities.RetrievePaymentIntentName, d.stripe.RetrievePaymentIntent},
			{activities.FindPaymentIntentName, d.stripe.FindPaymentIntent},
			{activities.CapturePaymentIntentName, d.stripe.CapturePaymentIntent},
			{activities.CancelPaymentIntentName, d.stripe.CancelPaymentIntent},
			{activities.CreateRefundName, d.stripe.CreateRefund},
			{activities.RetrieveRefundName, d.stripe.RetrieveRefund},
			{activities.FindRefundName, d.stripe.FindRefund},
			{activities.BackfillStripeEventsName, d.stripeEvents.BackfillStripeEvents},
			{activities.CreateMerchantName, d.onboarding.CreateMerchant},
			{activities.RecordOnboardingName, d.onboarding.RecordOnboarding},
			{activities.CreateConnectAccountName, d.onboarding.CreateConnectAccount},
			{activities.CreateAccountLinkName, d.onboarding.CreateAccountLink},
			{activities.RetrieveAccountName, d.onboarding.RetrieveAccount},
			{activities.ActivateMerchantName, d.onboarding.ActivateMerchant},
			{activities.CreateCustomerName, d.onboarding.CreateCustomer},
			{activities.RecordAuditName, d.audit.RecordAudit},
			{activities.RecordPaymentName, d.store.RecordPayment},
			{activities.ReserveRefundName, d.store.ReserveRefund},
			{activities.RecordRefundName, d.store.RecordRefund},
			{activities.RecordRefundAttentionName, d.store.RecordRefundAttention},
			{activities.PublishEventName, d.events.PublishEvent},
		},
	}, {
		taskQueue: schemas.TaskQueueFinance,
		workflows: []named{
			{schemas.DailyReportWorkflowName, workflows.DailyReportWorkflow},
			{schemas.ReconciliationWorkflowName, workflows.ReconciliationWorkflow},
			{schemas.RetentionWorkflowName, workflows.RetentionWorkflow},
			{schemas.HistoryArchiveWorkflowName, workflows.HistoryArchiveWorkflow},
			{schemas.AuditAnchorWorkflowName, workflows.AuditAnchorWorkflow},
		},
		activities: []named{
			{activities.ListReportMerchantsName, d.finance.ListReportMerchants},
			{activities.WriteDailyReportName, d.finance.WriteDailyReport},
			{activities.ReconcileName, d.finance.Reconcile},
			{activities.PruneTableName, d.store.PruneTable},
			{activities.ArchiveHistoriesName, d.archive.ArchiveHistories},
			{activities.AnchorAuditLogName, d.audit.AnchorAuditLog},
			{activities.PublishEventName, d.events.PublishEvent},
		},
	}, {
		taskQueue: schemas.TaskQueueWebhooks,
		workflows: []named{
			{schemas.WebhookDeliveryWorkflowName, workflows.WebhookDeliveryWorkflow},
		},
		activities: []named{
			{activities.DeliverWebhookName, d.webhooks.Deliver},
			{activities.RecordWebhookAttemptName, d.webhooks.RecordAttempt},
			{activities.FailWebhookDeliveryName, d.webhooks.FailDelivery},
		},
	}}
}

func taskQueues(regs []registration) []string {
	out := make([]string, len(regs))
	for i, r := range regs {
		out[i] = r.taskQueue
	}
	return out
}

// register adds a registration's workflows and activities to a worker.
func register(w worker.Registry, r registration) {
	for _, wf := range r.workflows {
		w.RegisterWorkflowWithOptions(wf.fn, workflow.RegisterOptions{Name: wf.name})
	}
	for _, a := range r.activities {
		w.RegisterActivityWithOptions(a.fn, activity.RegisterOptions{Name: a.name})
	}
}
