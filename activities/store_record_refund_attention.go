package activities

import (
	"context"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/refunds"
	"github.com/durapay/durapay/schemas"
)

// RecordRefundAttentionName is the activity's registered name.
const RecordRefundAttentionName = "store.RecordRefundAttention"

// RecordRefundAttentionRequest says why a refund waits for an operator (nil: it no longer
// does).
type RecordRefundAttentionRequest struct {
	RefundID  string
	Attention *schemas.Attention
}

// RecordRefundAttention writes it on the refund, for operators (GET /v1/admin/refunds/{id}).
func (s *Store) RecordRefundAttention(ctx context.Context, req RecordRefundAttentionRequest) error {
	return refunds.SetAttention(ctx, s.pool, req.RefundID, req.Attention)
}

// ExecRecordRefundAttention runs the activity as a local activity (options from ctx).
func ExecRecordRefundAttention(ctx workflow.Context, req RecordRefundAttentionRequest) error {
	return workflow.ExecuteLocalActivity(ctx, RecordRefundAttentionName, req).Get(ctx, nil)
}
