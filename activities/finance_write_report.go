package activities

import (
	"context"
	"fmt"

	"github.com/durapay/durapay/internal/domain/reports"
	"github.com/durapay/durapay/schemas"
)

// ListReportMerchants lists the merchants whose money moved on day (YYYY-MM-DD, UTC).
func (f *Finance) ListReportMerchants(ctx context.Context, day string) ([]string, error) {
	d, err := reports.ParseDay(day)
	if err != nil {
		return nil, err
	}
	return reports.MerchantsWithActivity(ctx, f.pool, d)
}

// WriteDailyReport builds the merchant's settlement report of the day from the ledger,
// writes it to the bucket and records it. A re-run writes the same key with the same bytes.
func (f *Finance) WriteDailyReport(ctx context.Context, req schemas.WriteDailyReportRequest) (schemas.ReportReady, error) {
	d, err := reports.ParseDay(req.Day)
	if err != nil {
		return schemas.ReportReady{}, err
	}
	r, err := reports.Build(ctx, f.pool, req.Merchant, d)
	if err != nil {
		return schemas.ReportReady{}, err
	}
	if err := f.objects.Put(ctx, r.Key, "text/csv; charset=utf-8", r.CSV); err != nil {
		return schemas.ReportReady{}, fmt.Errorf("write report: %w", err)
	}
	if err := reports.Save(ctx, f.pool, r); err != nil {
		return schemas.ReportReady{}, err
	}
	return schemas.ReportReady{Merchant: r.Merchant, Day: r.Day, Key: r.Key, SHA256: r.SHA256, Rows: r.Rows, SizeBytes: len(r.CSV)}, nil
}
