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
			{schemas.CreatePaymentIntentName, d.stripe.CreatePaymentIntent},
			{schemas.RetrievePaymentIntentName, d.stripe.RetrievePaymentIntent},
			{schemas.FindPaymentIntentName, d.stripe.FindPaymentIntent},
			{schemas.CapturePaymentIntentName, d.stripe.CapturePaymentIntent},
			{schemas.CancelPaymentIntentName, d.stripe.CancelPaymentIntent},
			{schemas.CreateRefundName, d.stripe.CreateRefund},
			{schemas.RetrieveRefundName, d.stripe.RetrieveRefund},
			{schemas.FindRefundName, d.stripe.FindRefund},
			{schemas.BackfillStripeEventsName, d.stripeEvents.BackfillStripeEvents},
			{schemas.CreateMerchantName, d.onboarding.CreateMerchant},
			{schemas.RecordOnboardingName, d.onboarding.RecordOnboarding},
			{schemas.CreateConnectAccountName, d.onboarding.CreateConnectAccount},
			{schemas.CreateAccountLinkName, d.onboarding.CreateAccountLink},
			{schemas.RetrieveAccountName, d.onboarding.RetrieveAccount},
			{schemas.ActivateMerchantName, d.onboarding.ActivateMerchant},
			{schemas.CreateCustomerName, d.onboarding.CreateCustomer},
			{schemas.RecordAuditName, d.audit.RecordAudit},
			{schemas.RecordPaymentName, d.store.RecordPayment},
			{schemas.ReserveRefundName, d.store.ReserveRefund},
			{schemas.RecordRefundName, d.store.RecordRefund},
			{schemas.RecordRefundAttentionName, d.store.RecordRefundAttention},
			{schemas.PublishEventName, d.events.PublishEvent},
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
			{schemas.ListReportMerchantsName, d.finance.ListReportMerchants},
			{schemas.WriteDailyReportName, d.finance.WriteDailyReport},
			{schemas.ReconcileName, d.finance.Reconcile},
			{schemas.PruneTableName, d.store.PruneTable},
			{schemas.ArchiveHistoriesName, d.archive.ArchiveHistories},
			{schemas.AnchorAuditLogName, d.audit.AnchorAuditLog},
			{schemas.PublishEventName, d.events.PublishEvent},
		},
	}, {
		taskQueue: schemas.TaskQueueWebhooks,
		workflows: []named{
			{schemas.WebhookDeliveryWorkflowName, workflows.WebhookDeliveryWorkflow},
		},
		activities: []named{
			{schemas.DeliverWebhookName, d.webhooks.Deliver},
			{schemas.RecordWebhookAttemptName, d.webhooks.RecordAttempt},
			{schemas.FailWebhookDeliveryName, d.webhooks.FailDelivery},
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
