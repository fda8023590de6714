package schemas

// The finance activities' contract: reports, reconciliation, the history archive and the
// audit log's anchors. Registered names live in stored histories: never rename one.

// ArchiveHistoriesName is the activity's registered name.
const ArchiveHistoriesName = "archive.ArchiveHistories"

// AnchorAuditLogName is the activity's registered name.
const AnchorAuditLogName = "audit.AnchorAuditLog"

// ReconcileName is the activity's registered name.
const ReconcileName = "finance.Reconcile"

// Activity names.
const (
	ListReportMerchantsName = "finance.ListReportMerchants"
	WriteDailyReportName    = "finance.WriteDailyReport"
)

// WriteDailyReportRequest names one merchant's report of one day.
type WriteDailyReportRequest struct {
	Merchant string
	Day      string
}
