package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/activities"
	"github.com/durapay/durapay/schemas"
)

// DailyReportWorkflow writes every active merchant's settlement report of one UTC day to
// the bucket and publishes report.ready for each. A schedule runs it just after midnight
// for the day before; it is idempotent per day (same object keys, same bytes, same event
// IDs), so a re-run or a manual run for a past day is safe.
func DailyReportWorkflow(ctx workflow.Context, in schemas.FinanceDayInput) (schemas.DailyReportResult, error) {
	day := financeDay(ctx, in)
	actx := workflow.WithActivityOptions(ctx, financeWork)
	var merchants []string
	if err := workflow.ExecuteActivity(actx, schemas.ListReportMerchantsName, day).Get(ctx, &merchants); err != nil {
		return schemas.DailyReportResult{}, err
	}
	res := schemas.DailyReportResult{Day: day}
	for _, m := range merchants {
		var r schemas.ReportReady
		if err := workflow.ExecuteActivity(actx, schemas.WriteDailyReportName,
			schemas.WriteDailyReportRequest{Merchant: m, Day: day}).Get(ctx, &r); err != nil {
			return res, err
		}
		res.Reports = append(res.Reports, r)
		if err := publishFinance(ctx, schemas.EventReportReady, m, m, r, m, day, r.SHA256); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ReconciliationWorkflow compares one UTC day of the ledger with Stripe's balance
// transactions, records the mismatches and publishes reconciliation.mismatch for each one
// found for the first time.
func ReconciliationWorkflow(ctx workflow.Context, in schemas.FinanceDayInput) (schemas.ReconciliationResult, error) {
	day := financeDay(ctx, in)
	var res schemas.ReconciliationResult
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, financeWork), schemas.ReconcileName, day).Get(ctx, &res); err != nil {
		return res, err
	}
	for _, m := range res.New {
		merchant := m.Merchant
		if merchant == "" {
			merchant = schemas.PlatformMerchant
		}
		if err := publishFinance(ctx, schemas.EventReconciliationMismatch, merchant, m.Source, m, m.Day, m.Kind, m.Source); err != nil {
			return res, err
		}
	}
	if len(res.New) > 0 {
		workflow.GetLogger(ctx).Warn("Ledger and Stripe disagree", "Day", day, "NewMismatches", len(res.New))
	}
	return res, nil
}

// financeDay is the input's day, or the UTC day before the workflow started.
func financeDay(ctx workflow.Context, in schemas.FinanceDayInput) string {
	if in.Day != "" {
		return in.Day
	}
	return workflow.GetInfo(ctx).WorkflowStartTime.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
}

// publishFinance publishes one finance event on its topic, with an ID derived from idParts.
func publishFinance(ctx workflow.Context, typ, merchant, key string, data any, idParts ...string) error {
	raw, err := json.Marshal(data) //workflowcheck:ignore plain structs: deterministic bytes
	if err != nil {
		return fmt.Errorf("encode %s: %w", typ, err)
	}
	ev := schemas.Event{ID: schemas.EventID(append([]string{typ}, idParts...)...), Type: typ, Created: workflow.Now(ctx).Unix(),
		Merchant: merchant, SchemaVersion: schemas.FinanceEventSchemaVersion, Data: raw}
	return activities.ExecPublishEvent(workflow.WithActivityOptions(ctx, eventPublish),
		schemas.PublishEventRequest{Topic: schemas.TopicFinance, Key: key, Event: ev})
}
