package activities

import (
	"context"

	"go.temporal.io/sdk/workflow"

	"github.com/durapay/durapay/internal/domain/refunds"
	"github.com/durapay/durapay/schemas"
)

// RecordRefundAttention writes it on the refund, for operators (GET /v1/admin/refunds/{id}).
func (s *Store) RecordRefundAttention(ctx context.Context, req schemas.RecordRefundAttentionRequest) error {
	return refunds.SetAttention(ctx, s.pool, req.RefundID, req.Attention)
}

// ExecRecordRefundAttention runs the activity as a local activity (options from ctx).
func ExecRecordRefundAttention(ctx workflow.Context, req schemas.RecordRefundAttentionRequest) error {
	return workflow.ExecuteLocalActivity(ctx, schemas.RecordRefundAttentionName, req).Get(ctx, nil)
}
