package schemas

// Finance's scheduled workflows run on their own task queue, so that a pool of workers can
// serve them apart from the payments that customers wait for.
const (
	TaskQueueFinance = "finance"

	DailyReportWorkflowName    = "DailySettlementReport"
	ReconciliationWorkflowName = "Reconciliation"
	ScheduleDailyReport        = "daily-settlement-report"
	ScheduleReconciliation     = "daily-reconciliation"

	// TopicFinance carries report.ready and reconciliation.mismatch.
	TopicFinance = "durapay.finance.v1"

	EventReportReady            = "report.ready"
	EventReconciliationMismatch = "reconciliation.mismatch"

	// FinanceEventSchemaVersion is the schema version of report.* and reconciliation.* events.
	FinanceEventSchemaVersion = 1

	// PlatformMerchant is the envelope's merchant of events that concern no one merchant.
	PlatformMerchant = "platform"
)

// FinanceDayInput names the UTC day a finance workflow works on (YYYY-MM-DD); empty is the
// day before the workflow started, as the daily schedules run it.
type FinanceDayInput struct {
	Day string
}

// ReportReady is a written settlement report (report.ready's data).
type ReportReady struct {
	Merchant  string `json:"merchant"`
	Day       string `json:"day"`
	Key       string `json:"key"`
	SHA256    string `json:"sha256"`
	Rows      int    `json:"rows"`
	SizeBytes int    `json:"size_bytes"`
}

// DailyReportResult lists the reports a run wrote.
type DailyReportResult struct {
	Day     string
	Reports []ReportReady
}

// ReconciliationMismatch is a disagreement between the ledger and Stripe
// (reconciliation.mismatch's data).
type ReconciliationMismatch struct {
	Day          string `json:"day"`
	Kind         string `json:"kind"` // missing_in_ledger, missing_at_stripe, amount_mismatch
	Source       string `json:"source"`
	Currency     string `json:"currency"`
	StripeAmount *int64 `json:"stripe_amount,omitempty"`
	LedgerAmount *int64 `json:"ledger_amount,omitempty"`
	Merchant     string `json:"merchant,omitempty"`
}

// ReconciliationResult is one day's reconciliation; New are the mismatches this run found
// first.
type ReconciliationResult struct {
	Day         string
	StripeCount int
	LedgerCount int
	New         []ReconciliationMismatch
	// StripeFeesBooked counts the charges whose Stripe fee this run posted to the ledger.
	StripeFeesBooked int
}
